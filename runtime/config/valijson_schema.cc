// valijson (1.0, header-only, over jsoncpp) as the engine that decides whether a document is
// valid. Two things stand between Zilla's schemas and valijson: named groups in patterns, which
// std::regex refuses (rewritten to plain groups in a copy of the schema), and $ref loops that stay
// on one value, which valijson follows until the stack runs out (refused at compile time).
#include "valijson_schema.h"

#include "schema_walker.h"

// valijson reports a schema it cannot use by calling throwRuntimeError, which aborts the process
// unless exceptions are enabled; zb_config's CMakeLists.txt defines VALIJSON_USE_EXCEPTIONS=1 for
// every user of these headers, so that the inline functions agree everywhere.
#if !VALIJSON_USE_EXCEPTIONS
#error "zb_config needs valijson built with VALIJSON_USE_EXCEPTIONS=1"
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <valijson/adapters/jsoncpp_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include <exception>
#include <map>
#include <string_view>

namespace zb::runtime::config_detail {

namespace {

// Keywords whose values are data, not schemas: a "pattern" inside them is not a pattern.
bool isDataKeyword(std::string_view key) {
  return key == "enum" || key == "const" || key == "default" || key == "examples";
}

// Keywords whose values map names to schemas: a member called "enum" there is a schema.
bool isSchemaMap(std::string_view key) {
  return key == "properties" || key == "patternProperties" || key == "definitions" ||
         key == "$defs" || key == "dependencies";
}

void writePlainGroups(Json::Value& node) {
  if (!node.isObject()) {
    return;
  }
  for (const std::string& key : node.getMemberNames()) {
    Json::Value& value = node[key];
    if (isDataKeyword(key)) {
      continue;
    }
    if (key == "pattern" && value.isString()) {
      value = withoutGroupNames(value.asString());
    } else if (key == "patternProperties" && value.isObject()) {
      Json::Value renamed(Json::objectValue);
      for (const std::string& pattern : value.getMemberNames()) {
        Json::Value schema = value[pattern];
        writePlainGroups(schema);
        const std::string plain = withoutGroupNames(pattern);
        if (renamed.isMember(plain)) {
          // "(?<a>x)" and "(x)" name the same property set: both schemas apply.
          Json::Value both(Json::objectValue);
          both["allOf"].append(renamed[plain]);
          both["allOf"].append(std::move(schema));
          renamed[plain] = std::move(both);
        } else {
          renamed[plain] = std::move(schema);
        }
      }
      value = std::move(renamed);
    } else if (isSchemaMap(key) && value.isObject()) {
      for (const std::string& name : value.getMemberNames()) {
        writePlainGroups(value[name]);
      }
    } else if (value.isObject()) {
      writePlainGroups(value);
    } else if (value.isArray()) {
      for (Json::Value& item : value) {
        writePlainGroups(item);
      }
    }
  }
}

// Calls `visit(node, path)` on `node` and on every object below it that stands where a schema
// can, until `visit` returns true; returns whether it did.
template <typename Visit>
bool anySchemaNode(const Json::Value& node, const std::string& path, const Visit& visit) {
  if (!node.isObject()) {
    return false;
  }
  if (visit(node, path)) {
    return true;
  }
  for (const std::string& key : node.getMemberNames()) {
    const Json::Value& value = node[key];
    const std::string at = appendPointer(path, key);
    if (isDataKeyword(key)) {
      continue;
    }
    if (isSchemaMap(key) && value.isObject()) {
      for (const std::string& name : value.getMemberNames()) {
        if (anySchemaNode(value[name], appendPointer(at, name), visit)) {
          return true;
        }
      }
    } else if (value.isObject()) {
      if (anySchemaNode(value, at, visit)) {
        return true;
      }
    } else if (value.isArray()) {
      for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
        if (anySchemaNode(value[i], at + "/" + std::to_string(i), visit)) {
          return true;
        }
      }
    }
  }
  return false;
}

// Depth-first search along the edges that keep validating the same value: $ref, and the
// applicators allOf/anyOf/oneOf/not/if/then/else/dependencies. A node met again while it is
// still on the path closes a loop.
class RefLoopSearch {
 public:
  explicit RefLoopSearch(const Json::Value& root) : root_(root) {}

  bool from(const Json::Value& node, const std::string& path) {
    int& state = state_[&node];  // 0 when new; std::map: the reference survives insertions
    if (state == kDone) {
      return false;
    }
    if (state == kOnPath) {
      loop_start_ = path;
      return true;
    }
    state = kOnPath;
    const bool looped = node.isObject() && alongSameValue(node, path);
    state = looped ? kOnPath : kDone;
    return looped;
  }

  std::string description() const {
    return "schema" + closing_at_ + ": \"$ref\" \"" + closing_ref_ + "\" leads back to schema" +
           loop_start_ +
           " without going into a property or an item; valijson cannot evaluate such a loop";
  }

 private:
  static constexpr int kOnPath = 1;
  static constexpr int kDone = 2;

  bool alongSameValue(const Json::Value& node, const std::string& path) {
    const Json::Value& ref = node["$ref"];
    if (ref.isString()) {  // draft-07: the keywords beside $ref are ignored (valijson too)
      const std::string target_ref = ref.asString();
      const Json::Value* target = resolveLocalRef(root_, target_ref);
      const bool looped = target != nullptr && from(*target, target_ref.substr(1));
      if (looped && closing_ref_.empty()) {
        closing_ref_ = target_ref;
        closing_at_ = path;
      }
      return looped;
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      const Json::Value& list = node[keyword];
      if (!list.isArray()) {
        continue;
      }
      for (Json::ArrayIndex i = 0; i < list.size(); ++i) {
        if (from(list[i], path + "/" + keyword + "/" + std::to_string(i))) {
          return true;
        }
      }
    }
    for (const char* keyword : {"not", "if", "then", "else"}) {
      if (node.isMember(keyword) && from(node[keyword], appendPointer(path, keyword))) {
        return true;
      }
    }
    const Json::Value& dependencies = node["dependencies"];
    if (dependencies.isObject()) {
      for (const std::string& name : dependencies.getMemberNames()) {
        if (from(dependencies[name], appendPointer(path + "/dependencies", name))) {
          return true;
        }
      }
    }
    return false;
  }

  const Json::Value& root_;
  std::map<const Json::Value*, int> state_;
  std::string loop_start_;
  std::string closing_ref_;
  std::string closing_at_;
};

}  // namespace

Json::Value withPlainGroups(const Json::Value& schema) {
  Json::Value copy = schema;
  writePlainGroups(copy);
  return copy;
}

std::string pointerOfContext(const std::vector<std::string>& context) {
  std::string pointer;
  for (size_t i = 0; i < context.size(); ++i) {
    const std::string& element = context[i];
    if (i == 0 && element == "<root>") {
      continue;
    }
    // valijson writes each property name and array index as "[name]", unescaped.
    if (element.size() >= 2 && element.front() == '[' && element.back() == ']') {
      pointer = appendPointer(pointer, std::string_view(element).substr(1, element.size() - 2));
    } else {
      pointer = appendPointer(pointer, element);
    }
  }
  return pointer;
}

std::string describeRefLoop(const Json::Value& schema) {
  RefLoopSearch search(schema);
  const bool looped = anySchemaNode(
      schema, "",
      [&](const Json::Value& node, const std::string& path) { return search.from(node, path); });
  return looped ? search.description() : std::string();
}

struct ValijsonSchema::Parsed {
  Json::Value plain;  // the schema valijson parsed, kept for the life of `schema`
  valijson::Schema schema;
};

ValijsonSchema::ValijsonSchema(std::unique_ptr<Parsed> parsed) : parsed_(std::move(parsed)) {}
ValijsonSchema::~ValijsonSchema() = default;

std::unique_ptr<ValijsonSchema> ValijsonSchema::compile(const Json::Value& schema,
                                                        std::string& error) {
  std::string loop = describeRefLoop(schema);
  if (!loop.empty()) {
    error = std::move(loop);
    return nullptr;
  }
  auto parsed = std::make_unique<Parsed>();
  parsed->plain = withPlainGroups(schema);
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    const valijson::adapters::JsonCppAdapter adapter(parsed->plain);
    parser.populateSchema(adapter, parsed->schema);
  } catch (const std::exception& e) {
    error = std::string("schema: valijson cannot use it: ") + e.what();
    return nullptr;
  }
  return std::unique_ptr<ValijsonSchema>(new ValijsonSchema(std::move(parsed)));
}

ValijsonVerdict ValijsonSchema::check(const Json::Value& document) const {
  ValijsonVerdict verdict;
  // A Validator per call: it caches compiled patterns in itself, and `check` is const.
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  const valijson::adapters::JsonCppAdapter target(document);
  try {
    verdict.valid = validator.validate(parsed_->schema, target, &results);
  } catch (const std::exception& e) {
    // E.g. a pattern std::regex gives up on; never let the document pass unchecked.
    verdict.undecided = true;
    verdict.deepest = {"", std::string("could not be checked against the schema: ") + e.what()};
    return verdict;
  }
  if (verdict.valid) {
    return verdict;
  }
  // Each failure is reported with its context, then again at every enclosing level ("Failed to
  // validate against schema associated with property name ..."): the longest context is the
  // failure itself.
  const valijson::ValidationResults::Error* deepest = nullptr;
  for (const valijson::ValidationResults::Error& error : results) {
    if (deepest == nullptr || error.context.size() > deepest->context.size()) {
      deepest = &error;
    }
  }
  if (deepest == nullptr) {
    verdict.deepest = {"", "does not match the schema"};
  } else {
    verdict.deepest = {pointerOfContext(deepest->context), deepest->description};
  }
  return verdict;
}

}  // namespace zb::runtime::config_detail
