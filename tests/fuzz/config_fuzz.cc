// config_fuzz: arbitrary bytes as the text of a zilla.yaml.
//
// The bytes go the way zilla-host takes a file: loadYaml (${{env.NAME}} substitution from a
// fixed environment, YAML to JSON with positions), validateZillaConfig against the root schema
// and each binding type's schema (kafka-grpc, kafka, grpc), every problem formatted; the whole
// document is also validated as one kafka-grpc binding entry, so inputs reach deep into that
// schema without the root schema's framing. A document the host accepts is read into the typed
// view, and each kafka-grpc entry is parsed by the binding's own parser, as on_binding_new would.
//
// Properties checked, beyond "no crash, hang, leak or uncaught exception":
//   - every problem has a message; a document with problems is refused;
//   - a substituted secret never appears in a problem's message (config.h promises that no
//     message quotes a value; property names are quoted, so a secret that became part of a key
//     is not looked for);
//   - with ZB_FUZZ_STRICT=1 in the environment: a kafka-grpc entry the host's validation
//     accepted is accepted by the binding's parser too (schema and parser agree).
//
// Known issues, guarded (each has a reproducer in tests/fuzz/known/config_fuzz):
//   - yaml-cpp 0.7's LoadAll never returns, allocating all the while, on texts
//     such as ",\n :" (jbeder/yaml-cpp#1040; fixed upstream by #1319, not in Debian's 0.7.0),
//     and loadYaml calls it: inputs that would make it loop are skipped;
//   - valijson's u8_strlen (minLength / maxLength) reads past a 6-entry table on a string with
//     more than 6 bytes in one "UTF-8 sequence" (invalid UTF-8; tristanpenman/valijson#197, not
//     merged), and yaml-cpp passes invalid UTF-8 through: documents with such a string are not
//     validated;
//   - validateZillaConfig's name check quotes the value ("exit \"<name>\" is not a declared
//     binding"), and so does the problem for a type without a plugin ("no plugin for type
//     \"<type>\"", as the host's lookup words it; this harness's lookup does the same), a
//     substituted secret included: the leak check passes over those messages.
// The guards let the fuzzer look for other problems until these are fixed; ZB_FUZZ_NO_GUARDS=1
// turns them off (docs/fuzzing.md).
#include "config.h"  // binding/kafka-grpc

#include <zb/runtime/config.h>
#include <zb/runtime/zilla_config.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>

namespace zb::runtime {
std::string_view fuzzKafkaSchema();  // binding/kafka/schema.json, embedded by CMake
std::string_view fuzzGrpcSchema();   // binding/grpc/schema.json
}  // namespace zb::runtime

namespace zb::kafka_grpc {
extern const char* const kConfigSchema;  // schema/kafka-grpc.schema.json
}

namespace {

using zb::runtime::ConfigProblem;
using zb::runtime::SchemaValidator;

// A value no input is likely to spell out by itself, substituted for ${{env.SECRET_TOKEN}}.
constexpr std::string_view kSecret = "zb-fuzz-s3cr3t";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "config_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

std::unique_ptr<SchemaValidator> compileOrDie(const char* name, std::string_view schema) {
  std::string error;
  std::unique_ptr<SchemaValidator> compiled = SchemaValidator::compile(schema, error);
  if (!compiled) {
    fail(name, error);
  }
  return compiled;
}

struct Schemas {
  std::unique_ptr<SchemaValidator> root =
      compileOrDie("root schema", zb::runtime::zillaRootSchema());
  std::unique_ptr<SchemaValidator> kafka_grpc =
      compileOrDie("kafka-grpc schema", zb::kafka_grpc::kConfigSchema);
  std::unique_ptr<SchemaValidator> kafka =
      compileOrDie("kafka schema", zb::runtime::fuzzKafkaSchema());
  std::unique_ptr<SchemaValidator> grpc =
      compileOrDie("grpc schema", zb::runtime::fuzzGrpcSchema());
};

const Schemas& schemas() {
  static const Schemas* compiled = new Schemas();  // lives for the process, like the host's
  return *compiled;
}

// The environment the fuzzer's documents see: ordinary values, values that are YAML syntax
// themselves, a placeholder (not substituted again), and a secret.
std::optional<std::string> fuzzEnv(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> env = {
      {"ECHO_SERVER_PORT", "50051"},
      {"KAFKA_BOOTSTRAP_SERVER", "localhost:9092"},
      {"EMPTY", ""},
      {"YAML", "{a: [1, 2]}\n- b: &x c\n  d: *x"},
      {"NESTED", "${{env.ECHO_SERVER_PORT}}"},
      {"QUOTES", "\"'\\"},
      {"NEWLINES", "\n\n  \n"},
      {"SECRET_TOKEN", std::string(kSecret)},
  };
  const auto found = env.find(name);
  if (found == env.end()) {
    return std::nullopt;
  }
  return found->second;
}

const SchemaValidator* schemaOf(std::string_view type, std::string& message) {
  const Schemas& all = schemas();
  if (type == "kafka-grpc") {
    return all.kafka_grpc.get();
  }
  if (type == "kafka") {
    return all.kafka.get();
  }
  if (type == "grpc") {
    return all.grpc.get();
  }
  message = "no plugin for type \"" + std::string(type) + "\"";
  return nullptr;
}

bool envFlag(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] == '1';
}

bool strict() {
  static const bool on = envFlag("ZB_FUZZ_STRICT");
  return on;
}

bool guarded() {
  static const bool on = !envFlag("ZB_FUZZ_NO_GUARDS");
  return on;
}

// Whether any property name of `value`, at any depth, holds the secret.
bool secretInKeys(const Json::Value& value) {
  if (value.isObject()) {
    for (const std::string& key : value.getMemberNames()) {
      if (key.find(kSecret) != std::string::npos || secretInKeys(value[key])) {
        return true;
      }
    }
  } else if (value.isArray()) {
    for (const Json::Value& item : value) {
      if (secretInKeys(item)) {
        return true;
      }
    }
  }
  return false;
}

// Would valijson's u8_nextchar index past its table? It reads a lead byte and every continuation
// byte (10xxxxxx) after it, and indexes a 6-entry table with their count.
bool overlongSequence(std::string_view text) {
  size_t run = 0;
  for (const char c : text) {
    run = (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? run + 1 : 1;
    if (run > 6) {
      return true;
    }
  }
  return false;
}

bool hasOverlongSequence(const Json::Value& value) {
  if (value.isString()) {
    return overlongSequence(value.asString());
  }
  if (value.isObject()) {
    for (const std::string& key : value.getMemberNames()) {
      if (overlongSequence(key) || hasOverlongSequence(value[key])) {
        return true;
      }
    }
  } else if (value.isArray()) {
    for (const Json::Value& item : value) {
      if (hasOverlongSequence(item)) {
        return true;
      }
    }
  }
  return false;
}

// `secret_allowed`: the secret is in the text itself, or in a property name.
void checkProblems(const std::vector<ConfigProblem>& problems, bool secret_allowed) {
  for (const ConfigProblem& problem : problems) {
    if (problem.message.empty()) {
      fail("a problem without a message at", problem.pointer);
    }
    // A YAML tag is a name too: "the YAML tag \"!x\" is not supported here" may quote it.
    const bool name = problem.message.rfind("the YAML tag ", 0) == 0;
    const bool known_leak =
        guarded() && (problem.message.find("is not a declared binding") != std::string::npos ||
                      problem.message.rfind("no plugin for type \"", 0) == 0);
    if (!secret_allowed && !name && !known_leak &&
        problem.message.find(kSecret) != std::string::npos) {
      fail("a substituted secret leaked into a problem message", problem.message);
    }
    const std::string line = zb::runtime::formatProblem("zilla.yaml", problem);
    if (line.empty()) {
      fail("formatProblem gave nothing for", problem.pointer);
    }
  }
}

// The text YAML::LoadAll sees: placeholders replaced as loadYaml replaces them.
std::string substituted(std::string_view text) {
  static const std::regex placeholder(R"(\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  const std::string source(text);
  std::string out;
  size_t copied = 0;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), placeholder);
       it != std::sregex_iterator(); ++it) {
    const size_t begin = static_cast<size_t>(it->position(0));
    out.append(source, copied, begin - copied);
    copied = begin + static_cast<size_t>(it->length(0));
    const std::optional<std::string> value = fuzzEnv((*it)[1].str());
    out += value ? *value : it->str();
  }
  out.append(source, copied, std::string::npos);
  return out;
}

// Would YAML::LoadAll loop forever on `text`? It does when the parser keeps reporting another
// document without consuming anything; a parser that reports 64 is taken to be looping.
bool yamlCppWouldLoop(std::string_view text) {
  class Ignore final : public YAML::EventHandler {
   public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };
  std::istringstream stream(substituted(text));
  try {
    YAML::Parser parser(stream);
    Ignore ignore;
    for (int documents = 0; documents < 64; ++documents) {
      if (!parser.HandleNextDocument(ignore)) {
        return false;
      }
    }
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  schemas();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool secret_in_text = text.find(kSecret) != std::string_view::npos;
  const Schemas& all = schemas();
  if (guarded() && yamlCppWouldLoop(text)) {
    return 0;  // the known yaml-cpp loop (see the top of this file)
  }

  zb::runtime::ConfigDocument document;
  std::vector<ConfigProblem> problems;
  const bool loaded = zb::runtime::loadYaml(text, fuzzEnv, document, problems);
  // What loadYaml could convert is in document.root even when it refuses the text.
  const bool secret_allowed = secret_in_text || secretInKeys(document.root);
  checkProblems(problems, secret_allowed);
  if (!loaded) {
    if (problems.empty()) {
      fail("loadYaml refused the text without a problem", "");
    }
    return 0;
  }

  if (guarded() && hasOverlongSequence(document.root)) {
    return 0;  // the known valijson overflow (see the top of this file)
  }

  // The whole document as one kafka-grpc binding entry.
  std::vector<ConfigProblem> as_entry = all.kafka_grpc->validate(document.root);
  document.locate(as_entry);
  checkProblems(as_entry, secret_allowed);

  problems = zb::runtime::validateZillaConfig(document, *all.root, schemaOf);
  checkProblems(problems, secret_allowed);
  if (!problems.empty()) {
    return 0;
  }

  // Accepted: what the host does next.
  const zb::runtime::ZillaConfig config = zb::runtime::readZillaConfig(document);
  std::map<std::string, uint64_t, std::less<>> ids;
  for (const zb::runtime::BindingEntry& binding : config.bindings) {
    ids.emplace(binding.name, ids.size() + 1);
  }
  for (const zb::runtime::BindingEntry& binding : config.bindings) {
    const zb::runtime::BindingDeclaration declaration = zb::runtime::declarationOf(config, binding);
    if (declaration.type != "kafka-grpc") {
      continue;
    }
    const zb::kafka_grpc::BindingResolver resolve = [&ids](const std::string& name) {
      const auto found = ids.find(name);
      return found != ids.end() ? found->second : uint64_t{0};
    };
    std::string error;
    const std::optional<zb::kafka_grpc::Config> parsed =
        zb::kafka_grpc::parseConfig(declaration.options_json, declaration.routes_json,
                                    declaration.namespace_name, declaration.name, resolve, error);
    if (!parsed && error.empty()) {
      fail("parseConfig refused a binding without a reason", declaration.name);
    }
    if (!parsed && strict()) {
      fail("the schema accepted a kafka-grpc entry that the binding refuses", error);
    }
  }
  return 0;
}
