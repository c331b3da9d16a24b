// The hand-written draft-07 walker: each broken rule once, at the pointer of the value that broke
// it, in plain words. valijson decides whether a document is valid (valijson_schema.cc); this
// walker says what is wrong, because valijson 1.0 reports every failure as a chain of generic
// lines ("Failed to match against any enum values.", without the values) and names only the
// first unexpected property.
#include "schema_walker.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <regex>
#include <set>
#include <unordered_map>

namespace zb::runtime::config_detail {

namespace {

constexpr int kMaxDepth = 128;

// ---- JSON values: types, numbers, equality, short renderings for messages.

bool isNumber(const Json::Value& v) {
  return v.type() == Json::intValue || v.type() == Json::uintValue || v.type() == Json::realValue;
}

bool isInteger(const Json::Value& v) {
  if (v.type() == Json::intValue || v.type() == Json::uintValue) {
    return true;
  }
  if (v.type() == Json::realValue) {
    const double d = v.asDouble();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

// Three-way comparison of two JSON numbers, exact for integers.
int compareNumbers(const Json::Value& a, const Json::Value& b) {
  const bool a_int = a.type() != Json::realValue;
  const bool b_int = b.type() != Json::realValue;
  if (a_int && b_int) {
    const __int128 x = a.type() == Json::uintValue ? __int128(a.asUInt64()) : a.asInt64();
    const __int128 y = b.type() == Json::uintValue ? __int128(b.asUInt64()) : b.asInt64();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = a.asDouble();
  const double y = b.asDouble();
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool jsonEqual(const Json::Value& a, const Json::Value& b) {
  if (isNumber(a) && isNumber(b)) {
    return compareNumbers(a, b) == 0;
  }
  if (a.type() != b.type()) {
    return false;
  }
  switch (a.type()) {
    case Json::nullValue:
      return true;
    case Json::booleanValue:
      return a.asBool() == b.asBool();
    case Json::stringValue:
      return a.asString() == b.asString();
    case Json::arrayValue:
      if (a.size() != b.size()) {
        return false;
      }
      for (Json::ArrayIndex i = 0; i < a.size(); ++i) {
        if (!jsonEqual(a[i], b[i])) {
          return false;
        }
      }
      return true;
    case Json::objectValue: {
      if (a.size() != b.size()) {
        return false;
      }
      for (const std::string& key : a.getMemberNames()) {
        if (!b.isMember(key) || !jsonEqual(a[key], b[key])) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

std::string numberText(const Json::Value& v) {
  if (v.type() == Json::intValue) {
    return std::to_string(v.asInt64());
  }
  if (v.type() == Json::uintValue) {
    return std::to_string(v.asUInt64());
  }
  const double d = v.asDouble();
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  return std::string(buffer, result.ptr);
}

// A schema value as a message shows it: strings bare when `bare_strings`, the rest as JSON.
std::string valueText(const Json::Value& v, bool bare_strings) {
  if (v.isString()) {
    return bare_strings ? v.asString() : "\"" + v.asString() + "\"";
  }
  if (isNumber(v)) {
    return numberText(v);
  }
  return toJsonText(v);
}

const char* typeWithArticle(std::string_view type) {
  if (type == "string") return "a string";
  if (type == "integer") return "an integer";
  if (type == "number") return "a number";
  if (type == "object") return "an object";
  if (type == "array") return "an array";
  if (type == "boolean") return "a boolean";
  if (type == "null") return "null";
  return "of an unknown type";
}

bool hasType(const Json::Value& v, std::string_view type) {
  if (type == "string") return v.isString();
  if (type == "integer") return isInteger(v);
  if (type == "number") return isNumber(v);
  if (type == "object") return v.isObject();
  if (type == "array") return v.isArray();
  if (type == "boolean") return v.isBool();
  if (type == "null") return v.isNull();
  return false;
}

size_t codePoints(std::string_view text) {
  size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

size_t pointerDepth(std::string_view pointer) {
  return static_cast<size_t>(std::count(pointer.begin(), pointer.end(), '/'));
}

std::string joinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) {
    if (!out.empty()) {
      out += ", ";
    }
    out += key;
  }
  return out;
}

std::string percentDecoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Resolves an RFC 6901 pointer inside `root`; nullptr when it names nothing.
const Json::Value* resolvePointer(const Json::Value& root, std::string_view pointer) {
  const Json::Value* node = &root;
  size_t at = 0;
  while (at < pointer.size()) {
    if (pointer[at] != '/') {
      return nullptr;
    }
    const size_t next = pointer.find('/', at + 1);
    std::string token(pointer.substr(
        at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1));
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped += token[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    if (node->isObject()) {
      if (!node->isMember(unescaped)) {
        return nullptr;
      }
      node = &(*node)[unescaped];
    } else if (node->isArray()) {
      if (unescaped.empty() || !std::all_of(unescaped.begin(), unescaped.end(), ::isdigit)) {
        return nullptr;
      }
      if (unescaped.size() > 9) {
        return nullptr;  // no schema has a billion items; std::stoul would throw
      }
      const unsigned long index = std::stoul(unescaped);
      if (index >= node->size()) {
        return nullptr;
      }
      node = &(*node)[static_cast<Json::ArrayIndex>(index)];
    } else {
      return nullptr;
    }
    at = next == std::string_view::npos ? pointer.size() : next;
  }
  return node;
}

// A problem found while validating, with what the alternative-picking of anyOf/oneOf needs: a
// "shape" problem (type, const, enum) says the value is not even of the kind a schema describes.
struct Finding {
  std::string pointer;
  std::string message;
  bool shape = false;
};

using Findings = std::vector<Finding>;

}  // namespace

std::string withoutGroupNames(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern[i];
      out += pattern[++i];
      continue;
    }
    if (pattern.compare(i, 3, "(?<") == 0 && i + 3 < pattern.size() &&
        std::isalpha(static_cast<unsigned char>(pattern[i + 3]))) {
      const size_t close = pattern.find('>', i + 3);
      if (close != std::string_view::npos) {
        out += '(';
        i = close;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

const Json::Value* resolveLocalRef(const Json::Value& root, std::string_view ref) {
  if (ref.empty() || ref[0] != '#') {
    return nullptr;
  }
  return resolvePointer(root, percentDecoded(ref.substr(1)));
}

struct SchemaWalker::Rules {
  Json::Value schema;
  std::unordered_map<std::string, std::regex> patterns;
  std::unordered_map<std::string, const Json::Value*> refs;
  std::set<const Json::Value*> compiled;  // during compile: nodes already checked

  // ---- compile: every keyword has the shape draft-07 gives it; patterns and $refs resolve.

  bool compilePattern(const std::string& pattern, const std::string& where, std::string& error) {
    if (patterns.count(pattern) != 0) {
      return true;
    }
    try {
      patterns.emplace(pattern, std::regex(withoutGroupNames(pattern), std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      error = where + ": pattern \"" + pattern + "\" is not a supported regular expression (" +
              e.what() + ")";
      return false;
    }
    return true;
  }

  bool compileNode(const Json::Value& node, const std::string& path, std::string& error) {
    if (node.isBool() || !compiled.insert(&node).second) {
      return true;
    }
    if (!node.isObject()) {
      error = "schema" + path + ": must be an object or a boolean";
      return false;
    }
    const std::string where = "schema" + path;
    auto fail = [&](const std::string& keyword, const std::string& what) {
      error = where + ": \"" + keyword + "\" " + what;
      return false;
    };
    if (node.isMember("$ref")) {
      const Json::Value& ref = node["$ref"];
      if (!ref.isString()) {
        return fail("$ref", "must be a string");
      }
      const std::string target = ref.asString();
      if (target.empty() || target[0] != '#') {
        return fail("$ref", "must point inside the same schema (\"#...\"), not \"" + target + "\"");
      }
      const Json::Value* resolved = resolveLocalRef(schema, target);
      if (resolved == nullptr) {
        return fail("$ref", "\"" + target + "\" does not resolve");
      }
      refs[target] = resolved;
      if (!compileNode(*resolved, target.substr(1), error)) {
        return false;
      }
    }
    if (node.isMember("type")) {
      const Json::Value& type = node["type"];
      static const std::set<std::string> kTypes = {"string", "integer", "number", "object",
                                                   "array",  "boolean", "null"};
      bool ok = type.isString() && kTypes.count(type.asString()) != 0;
      if (type.isArray()) {
        ok = true;
        for (const Json::Value& t : type) {
          ok = ok && t.isString() && kTypes.count(t.asString()) != 0;
        }
      }
      if (!ok) {
        return fail("type", "must be a JSON type name or an array of them");
      }
    }
    if (node.isMember("enum") && !node["enum"].isArray()) {
      return fail("enum", "must be an array");
    }
    if (node.isMember("required")) {
      const Json::Value& required = node["required"];
      bool ok = required.isArray();
      for (const Json::Value& name : required) {
        ok = ok && name.isString();
      }
      if (!ok) {
        return fail("required", "must be an array of strings");
      }
    }
    if (node.isMember("pattern")) {
      if (!node["pattern"].isString()) {
        return fail("pattern", "must be a string");
      }
      if (!compilePattern(node["pattern"].asString(), where, error)) {
        return false;
      }
    }
    for (const char* keyword :
         {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      if (node.isMember(keyword) && (!isInteger(node[keyword]) || node[keyword].asDouble() < 0)) {
        return fail(keyword, "must be a non-negative integer");
      }
    }
    for (const char* keyword : {"minimum", "maximum"}) {
      if (node.isMember(keyword) && !isNumber(node[keyword])) {
        return fail(keyword, "must be a number");
      }
    }
    for (const char* keyword : {"exclusiveMinimum", "exclusiveMaximum"}) {
      if (node.isMember(keyword) && !isNumber(node[keyword]) && !node[keyword].isBool()) {
        return fail(keyword, "must be a number");
      }
    }
    if (node.isMember("multipleOf") &&
        (!isNumber(node["multipleOf"]) || node["multipleOf"].asDouble() <= 0)) {
      return fail("multipleOf", "must be a number greater than 0");
    }
    if (node.isMember("uniqueItems") && !node["uniqueItems"].isBool()) {
      return fail("uniqueItems", "must be a boolean");
    }

    // Subschemas.
    for (const char* keyword : {"properties", "patternProperties", "definitions"}) {
      if (!node.isMember(keyword)) {
        continue;
      }
      if (!node[keyword].isObject()) {
        return fail(keyword, "must be an object");
      }
      for (const std::string& key : node[keyword].getMemberNames()) {
        if (std::string_view(keyword) == "patternProperties" &&
            !compilePattern(key, where + "/patternProperties", error)) {
          return false;
        }
        if (!compileNode(node[keyword][key], appendPointer(appendPointer(path, keyword), key),
                         error)) {
          return false;
        }
      }
    }
    for (const char* keyword : {"additionalProperties", "additionalItems", "contains",
                                "propertyNames", "not", "if", "then", "else"}) {
      if (node.isMember(keyword) &&
          !compileNode(node[keyword], appendPointer(path, keyword), error)) {
        return false;
      }
    }
    if (node.isMember("items")) {
      const Json::Value& items = node["items"];
      if (items.isArray()) {
        for (Json::ArrayIndex i = 0; i < items.size(); ++i) {
          if (!compileNode(items[i], path + "/items/" + std::to_string(i), error)) {
            return false;
          }
        }
      } else if (!compileNode(items, path + "/items", error)) {
        return false;
      }
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      if (!node.isMember(keyword)) {
        continue;
      }
      const Json::Value& list = node[keyword];
      if (!list.isArray() || list.empty()) {
        return fail(keyword, "must be a non-empty array of schemas");
      }
      for (Json::ArrayIndex i = 0; i < list.size(); ++i) {
        if (!compileNode(list[i], path + "/" + keyword + "/" + std::to_string(i), error)) {
          return false;
        }
      }
    }
    if (node.isMember("dependencies")) {
      const Json::Value& dependencies = node["dependencies"];
      if (!dependencies.isObject()) {
        return fail("dependencies", "must be an object");
      }
      for (const std::string& key : dependencies.getMemberNames()) {
        const Json::Value& dependency = dependencies[key];
        if (dependency.isArray()) {
          for (const Json::Value& name : dependency) {
            if (!name.isString()) {
              return fail("dependencies", "lists must hold property names");
            }
          }
        } else if (!compileNode(dependency, appendPointer(path + "/dependencies", key), error)) {
          return false;
        }
      }
    }
    return true;
  }

  // ---- validate

  bool matches(const std::string& pattern, const std::string& text) const {
    const auto found = patterns.find(pattern);
    if (found == patterns.end()) {
      return false;
    }
    try {
      return std::regex_search(text, found->second);
    } catch (const std::regex_error&) {
      return false;
    }
  }

  void check(const Json::Value& schema_node, const Json::Value& value, const std::string& pointer,
             Findings& out, int depth) const {
    if (depth > kMaxDepth) {
      out.push_back({pointer, "is nested deeper than the schema checker follows", false});
      return;
    }
    if (schema_node.isBool()) {
      if (!schema_node.asBool()) {
        out.push_back({pointer, "is not allowed here", true});
      }
      return;
    }
    if (schema_node.isMember("$ref")) {
      const auto ref = refs.find(schema_node["$ref"].asString());
      if (ref != refs.end()) {
        check(*ref->second, value, pointer, out, depth + 1);
      }
      return;  // draft-07: keywords beside $ref are ignored
    }

    const size_t before = out.size();
    checkType(schema_node, value, pointer, out);
    const bool wrong_type = out.size() != before;
    if (!wrong_type && schema_node.isMember("const") && !jsonEqual(schema_node["const"], value)) {
      out.push_back({pointer, "must be " + valueText(schema_node["const"], false), true});
    }
    if (!wrong_type && schema_node.isMember("enum")) {
      bool found = false;
      std::string options;
      for (const Json::Value& option : schema_node["enum"]) {
        found = found || jsonEqual(option, value);
        options += (options.empty() ? "" : ", ") + valueText(option, true);
      }
      if (!found) {
        out.push_back({pointer, "must be one of: " + options, true});
      }
    }
    if (value.isString()) {
      checkString(schema_node, value.asString(), pointer, out);
    } else if (isNumber(value)) {
      checkNumber(schema_node, value, pointer, out);
    } else if (value.isObject()) {
      checkObject(schema_node, value, pointer, out, depth);
    } else if (value.isArray()) {
      checkArray(schema_node, value, pointer, out, depth);
    }
    checkCombinations(schema_node, value, pointer, out, depth);
  }

  void checkType(const Json::Value& schema_node, const Json::Value& value,
                 const std::string& pointer, Findings& out) const {
    if (!schema_node.isMember("type")) {
      return;
    }
    const Json::Value& type = schema_node["type"];
    if (type.isString()) {
      if (!hasType(value, type.asString())) {
        out.push_back({pointer, std::string("must be ") + typeWithArticle(type.asString()), true});
      }
      return;
    }
    std::string expected;
    for (Json::ArrayIndex i = 0; i < type.size(); ++i) {
      if (hasType(value, type[i].asString())) {
        return;
      }
      expected += i == 0 ? "" : (i + 1 == type.size() ? " or " : ", ");
      expected += typeWithArticle(type[i].asString());
    }
    out.push_back({pointer, "must be " + expected, true});
  }

  void checkString(const Json::Value& schema_node, const std::string& text,
                   const std::string& pointer, Findings& out) const {
    const size_t length = codePoints(text);
    if (schema_node.isMember("minLength") && length < schema_node["minLength"].asUInt64()) {
      const auto n = schema_node["minLength"].asUInt64();
      out.push_back({pointer, n == 1
                                  ? std::string("must not be empty")
                                  : "must be at least " + std::to_string(n) + " characters long"});
    }
    if (schema_node.isMember("maxLength") && length > schema_node["maxLength"].asUInt64()) {
      out.push_back({pointer, "must be at most " +
                                  std::to_string(schema_node["maxLength"].asUInt64()) +
                                  " characters long"});
    }
    if (schema_node.isMember("pattern") && !matches(schema_node["pattern"].asString(), text)) {
      out.push_back({pointer, "must match the pattern " + schema_node["pattern"].asString()});
    }
  }

  void checkNumber(const Json::Value& schema_node, const Json::Value& value,
                   const std::string& pointer, Findings& out) const {
    auto bound = [&](const char* keyword, const char* exclusive_keyword, int sign) {
      const bool has_bound = schema_node.isMember(keyword);
      const Json::Value& exclusive = schema_node[exclusive_keyword];
      if (has_bound) {
        const Json::Value& limit = schema_node[keyword];
        const bool draft4_exclusive = exclusive.isBool() && exclusive.asBool();
        const int c = compareNumbers(value, limit) * sign;
        if (c > 0 || (draft4_exclusive && c == 0)) {
          const char* op = sign > 0 ? (draft4_exclusive ? "less than " : "at most ")
                                    : (draft4_exclusive ? "greater than " : "at least ");
          out.push_back({pointer, std::string("must be ") + op + numberText(limit)});
        }
      }
      if (isNumber(exclusive) && compareNumbers(value, exclusive) * sign >= 0) {
        out.push_back({pointer, std::string("must be ") +
                                    (sign > 0 ? "less than " : "greater than ") +
                                    numberText(exclusive)});
      }
    };
    bound("maximum", "exclusiveMaximum", 1);
    bound("minimum", "exclusiveMinimum", -1);
    if (schema_node.isMember("multipleOf")) {
      const Json::Value& divisor = schema_node["multipleOf"];
      bool ok;
      if (isInteger(value) && isInteger(divisor) && value.type() != Json::realValue &&
          divisor.type() != Json::realValue) {
        ok = value.asInt64() % divisor.asInt64() == 0;
      } else {
        const double q = value.asDouble() / divisor.asDouble();
        ok = std::isfinite(q) && std::fabs(q - std::round(q)) < 1e-9;
      }
      if (!ok) {
        out.push_back({pointer, "must be a multiple of " + numberText(divisor)});
      }
    }
  }

  void checkObject(const Json::Value& schema_node, const Json::Value& value,
                   const std::string& pointer, Findings& out, int depth) const {
    if (schema_node.isMember("required")) {
      for (const Json::Value& name : schema_node["required"]) {
        if (!value.isMember(name.asString())) {
          out.push_back({pointer, "required property \"" + name.asString() + "\" is missing"});
        }
      }
    }
    const Json::Value& properties = schema_node["properties"];
    const Json::Value& pattern_properties = schema_node["patternProperties"];
    const bool has_additional = schema_node.isMember("additionalProperties");
    const Json::Value& additional = schema_node["additionalProperties"];
    for (const std::string& key : value.getMemberNames()) {
      const std::string child = appendPointer(pointer, key);
      bool matched = false;
      if (properties.isObject() && properties.isMember(key)) {
        matched = true;
        const Json::Value& property_schema = properties[key];
        if (property_schema.isBool() && !property_schema.asBool()) {
          out.push_back({child, "property \"" + key + "\" is not allowed", true});
        } else {
          check(property_schema, value[key], child, out, depth + 1);
        }
      }
      if (pattern_properties.isObject()) {
        for (const std::string& pattern : pattern_properties.getMemberNames()) {
          if (matches(pattern, key)) {
            matched = true;
            check(pattern_properties[pattern], value[key], child, out, depth + 1);
          }
        }
      }
      if (matched || !has_additional) {
        continue;
      }
      if (additional.isBool() && !additional.asBool()) {
        out.push_back({child, notAllowedMessage(key, properties, pattern_properties), false});
      } else {
        check(additional, value[key], child, out, depth + 1);
      }
    }
    if (schema_node.isMember("propertyNames")) {
      for (const std::string& key : value.getMemberNames()) {
        Findings name_findings;
        check(schema_node["propertyNames"], Json::Value(key), appendPointer(pointer, key),
              name_findings, depth + 1);
        for (Finding& finding : name_findings) {
          finding.message = "property name \"" + key + "\" " + finding.message;
          out.push_back(std::move(finding));
        }
      }
    }
    if (schema_node.isMember("dependencies")) {
      const Json::Value& dependencies = schema_node["dependencies"];
      for (const std::string& key : dependencies.getMemberNames()) {
        if (!value.isMember(key)) {
          continue;
        }
        const Json::Value& dependency = dependencies[key];
        if (dependency.isArray()) {
          for (const Json::Value& name : dependency) {
            if (!value.isMember(name.asString())) {
              out.push_back({pointer, "property \"" + key + "\" requires property \"" +
                                          name.asString() + "\""});
            }
          }
        } else {
          check(dependency, value, pointer, out, depth + 1);
        }
      }
    }
    const Json::ArrayIndex count = value.size();
    if (schema_node.isMember("minProperties") && count < schema_node["minProperties"].asUInt64()) {
      out.push_back({pointer, "must have at least " +
                                  std::to_string(schema_node["minProperties"].asUInt64()) +
                                  " properties"});
    }
    if (schema_node.isMember("maxProperties") && count > schema_node["maxProperties"].asUInt64()) {
      out.push_back({pointer, "must have at most " +
                                  std::to_string(schema_node["maxProperties"].asUInt64()) +
                                  " properties"});
    }
  }

  static std::string notAllowedMessage(const std::string& key, const Json::Value& properties,
                                       const Json::Value& pattern_properties) {
    std::string message = "property \"" + key + "\" is not allowed";
    if (properties.isObject() && !properties.empty()) {
      std::vector<std::string> allowed;
      for (const std::string& name : properties.getMemberNames()) {
        if (!(properties[name].isBool() && !properties[name].asBool())) {
          allowed.push_back(name);
        }
      }
      if (!allowed.empty()) {
        message += " (allowed: " + joinKeys(allowed) + ")";
      }
    } else if (pattern_properties.isObject() && !pattern_properties.empty()) {
      message += " (names must match " + joinKeys(pattern_properties.getMemberNames()) + ")";
    }
    return message;
  }

  void checkArray(const Json::Value& schema_node, const Json::Value& value,
                  const std::string& pointer, Findings& out, int depth) const {
    const Json::ArrayIndex size = value.size();
    if (schema_node.isMember("items")) {
      const Json::Value& items = schema_node["items"];
      if (items.isArray()) {
        for (Json::ArrayIndex i = 0; i < size; ++i) {
          const std::string child = pointer + "/" + std::to_string(i);
          if (i < items.size()) {
            check(items[i], value[i], child, out, depth + 1);
          } else if (schema_node.isMember("additionalItems")) {
            const Json::Value& additional = schema_node["additionalItems"];
            if (additional.isBool() && !additional.asBool()) {
              out.push_back(
                  {pointer, "must have at most " + std::to_string(items.size()) + " items"});
              break;
            }
            check(additional, value[i], child, out, depth + 1);
          }
        }
      } else {
        for (Json::ArrayIndex i = 0; i < size; ++i) {
          check(items, value[i], pointer + "/" + std::to_string(i), out, depth + 1);
        }
      }
    }
    if (schema_node.isMember("contains")) {
      bool found = false;
      for (Json::ArrayIndex i = 0; i < size && !found; ++i) {
        Findings scratch;
        check(schema_node["contains"], value[i], pointer, scratch, depth + 1);
        found = scratch.empty();
      }
      if (!found) {
        out.push_back({pointer,
                       "must contain at least one item that matches its \"contains\" "
                       "schema"});
      }
    }
    if (schema_node.isMember("minItems") && size < schema_node["minItems"].asUInt64()) {
      const auto n = schema_node["minItems"].asUInt64();
      out.push_back({pointer, n == 1 ? std::string("must not be empty")
                                     : "must have at least " + std::to_string(n) + " items"});
    }
    if (schema_node.isMember("maxItems") && size > schema_node["maxItems"].asUInt64()) {
      out.push_back({pointer, "must have at most " +
                                  std::to_string(schema_node["maxItems"].asUInt64()) + " items"});
    }
    if (schema_node.isMember("uniqueItems") && schema_node["uniqueItems"].asBool()) {
      for (Json::ArrayIndex i = 0; i < size; ++i) {
        for (Json::ArrayIndex j = i + 1; j < size; ++j) {
          if (jsonEqual(value[i], value[j])) {
            out.push_back({pointer, "must not repeat an item (items " + std::to_string(i) +
                                        " and " + std::to_string(j) + " are equal)"});
            return;
          }
        }
      }
    }
  }

  void checkCombinations(const Json::Value& schema_node, const Json::Value& value,
                         const std::string& pointer, Findings& out, int depth) const {
    if (schema_node.isMember("allOf")) {
      for (const Json::Value& branch : schema_node["allOf"]) {
        check(branch, value, pointer, out, depth + 1);
      }
    }
    for (const char* keyword : {"anyOf", "oneOf"}) {
      if (!schema_node.isMember(keyword)) {
        continue;
      }
      const Json::Value& branches = schema_node[keyword];
      std::vector<Findings> results(branches.size());
      std::vector<Json::ArrayIndex> matched;
      for (Json::ArrayIndex i = 0; i < branches.size(); ++i) {
        check(branches[i], value, pointer, results[i], depth + 1);
        if (results[i].empty()) {
          matched.push_back(i);
        }
      }
      if (matched.empty()) {
        reportBestAlternative(results, pointer, out);
      } else if (std::string_view(keyword) == "oneOf" && matched.size() > 1) {
        out.push_back({pointer, "must match exactly one alternative, but matches " +
                                    std::to_string(matched.size()) + " of them"});
      }
    }
    if (schema_node.isMember("not")) {
      Findings scratch;
      check(schema_node["not"], value, pointer, scratch, depth + 1);
      if (scratch.empty()) {
        out.push_back({pointer, "must not match the schema given under \"not\""});
      }
    }
    if (schema_node.isMember("if")) {
      Findings scratch;
      check(schema_node["if"], value, pointer, scratch, depth + 1);
      const char* branch = scratch.empty() ? "then" : "else";
      if (schema_node.isMember(branch)) {
        check(schema_node[branch], value, pointer, out, depth + 1);
      }
    }
  }

  // None of the alternatives matched: report the one the value came closest to (the one whose
  // first "wrong kind of value" problem is deepest, then whose problems go deepest, then the one
  // with the fewest problems). When every alternative already fails on the kind of the value
  // itself, one line lists what each would have wanted.
  static void reportBestAlternative(const std::vector<Findings>& results,
                                    const std::string& pointer, Findings& out) {
    const size_t base = pointerDepth(pointer);
    struct Score {
      size_t shape_depth;
      size_t max_depth;
      size_t count;
    };
    std::vector<Score> scores;
    bool all_shallow = true;
    for (const Findings& findings : results) {
      Score score{std::numeric_limits<size_t>::max(), 0, findings.size()};
      for (const Finding& finding : findings) {
        const size_t depth = pointerDepth(finding.pointer) - base;
        if (finding.shape) {
          score.shape_depth = std::min(score.shape_depth, depth);
        }
        score.max_depth = std::max(score.max_depth, depth);
      }
      all_shallow = all_shallow && score.shape_depth == 0;
      scores.push_back(score);
    }
    if (all_shallow) {
      std::vector<std::string> wanted;
      for (const Findings& findings : results) {
        for (const Finding& finding : findings) {
          if (finding.shape && finding.pointer == pointer &&
              std::find(wanted.begin(), wanted.end(), finding.message) == wanted.end()) {
            wanted.push_back(finding.message);
          }
        }
      }
      std::string message;
      for (size_t i = 0; i < wanted.size(); ++i) {
        message += (i == 0 ? "" : ", or ") + wanted[i];
      }
      out.push_back({pointer, message, true});
      return;
    }
    size_t best = 0;
    for (size_t i = 1; i < scores.size(); ++i) {
      const Score& a = scores[i];
      const Score& b = scores[best];
      if (std::tie(a.shape_depth, a.max_depth) > std::tie(b.shape_depth, b.max_depth) ||
          (a.shape_depth == b.shape_depth && a.max_depth == b.max_depth && a.count < b.count)) {
        best = i;
      }
    }
    out.insert(out.end(), results[best].begin(), results[best].end());
  }
};

SchemaWalker::SchemaWalker(std::unique_ptr<Rules> rules) : rules_(std::move(rules)) {}
SchemaWalker::~SchemaWalker() = default;

std::unique_ptr<SchemaWalker> SchemaWalker::compile(const Json::Value& schema, std::string& error) {
  auto rules = std::make_unique<Rules>();
  rules->schema = schema;
  if (!rules->compileNode(rules->schema, "", error)) {
    return nullptr;
  }
  rules->compiled.clear();
  return std::unique_ptr<SchemaWalker>(new SchemaWalker(std::move(rules)));
}

std::vector<ConfigProblem> SchemaWalker::problems(const Json::Value& document) const {
  Findings findings;
  rules_->check(rules_->schema, document, "", findings, 0);
  std::vector<ConfigProblem> problems;
  std::set<std::pair<std::string, std::string>> seen;
  for (Finding& finding : findings) {
    if (seen.emplace(finding.pointer, finding.message).second) {
      problems.push_back({std::move(finding.pointer), std::move(finding.message)});
    }
  }
  return problems;
}

}  // namespace zb::runtime::config_detail
