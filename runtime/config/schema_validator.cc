// SchemaValidator: valijson decides whether a document is valid; the hand-written walker says
// what is wrong, in plain words at the pointer of the value that broke the rule. The tests check
// that the two agree on the project's schemas and configs.
#include <zb/runtime/config.h>

#include "schema_walker.h"
#include "valijson_schema.h"

#include <json/reader.h>
#include <json/writer.h>

#include <memory>

namespace zb::runtime {

std::string appendPointer(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out += '/';
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatProblem(std::string_view file, const ConfigProblem& problem) {
  std::string out(file);
  if (problem.line > 0) {
    out += ':' + std::to_string(problem.line);
    if (problem.column > 0) {
      out += ':' + std::to_string(problem.column);
    }
  }
  if (!problem.pointer.empty()) {
    out += ' ';
    out += problem.pointer;
  }
  out += ": ";
  out += problem.message;
  return out;
}

std::string toJsonText(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  return Json::writeString(builder, value);
}

std::optional<Json::Value> parseJsonText(std::string_view text, std::string& error) {
  Json::CharReaderBuilder builder;
  Json::CharReaderBuilder::strictMode(&builder.settings_);
  builder.settings_["strictRoot"] = false;  // `true` is a schema, `5` a document
  const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value value;
  std::string errors;
  if (!reader->parse(text.data(), text.data() + text.size(), &value, &errors)) {
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) {
      errors.pop_back();
    }
    error = errors.empty() ? "not valid JSON" : errors;
    return std::nullopt;
  }
  return value;
}

struct SchemaValidator::Impl {
  std::unique_ptr<config_detail::SchemaWalker> walker;
  std::unique_ptr<config_detail::ValijsonSchema> valijson;
};

SchemaValidator::SchemaValidator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaValidator::~SchemaValidator() = default;

std::unique_ptr<SchemaValidator> SchemaValidator::compile(std::string_view schema_json,
                                                          std::string& error) {
  std::string parse_error;
  const std::optional<Json::Value> schema = parseJsonText(schema_json, parse_error);
  if (!schema) {
    error = "the schema is not valid JSON: " + parse_error;
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  // The walker first: its reasons name the keyword and where it is.
  impl->walker = config_detail::SchemaWalker::compile(*schema, error);
  if (impl->walker == nullptr) {
    return nullptr;
  }
  impl->valijson = config_detail::ValijsonSchema::compile(*schema, error);
  if (impl->valijson == nullptr) {
    return nullptr;
  }
  return std::unique_ptr<SchemaValidator>(new SchemaValidator(std::move(impl)));
}

std::vector<ConfigProblem> SchemaValidator::validate(const Json::Value& document) const {
  const config_detail::ValijsonVerdict verdict = impl_->valijson->check(document);
  if (verdict.valid) {
    return {};  // valijson's verdict stands, even where the walker would object
  }
  std::vector<ConfigProblem> problems = impl_->walker->problems(document);
  if (problems.empty()) {
    // The walker sees nothing wrong where valijson does: valijson's most specific error.
    problems.push_back(verdict.deepest);
  }
  return problems;
}

}  // namespace zb::runtime
