// Reading zilla.yaml: ${{env.NAME}} substitution, YAML to JSON with the source position of every
// value, and JSON Schema (draft-07) validation that names each problem by its JSON pointer.
//
// Threading: none of this keeps global state; use each object from one thread at a time.
#pragma once

#include <json/value.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::runtime {

// One thing wrong with a config: where (RFC 6901 JSON pointer, plus the 1-based line and column
// in the YAML text when known, 0 otherwise) and which rule it broke, in plain words. The message
// never quotes the offending value; the few that quote a name (an undeclared binding name, a
// type without a plugin) show each substituted part of it as its ${{env.NAME}} placeholder, so
// a substituted secret cannot leak through a message.
struct ConfigProblem {
  std::string pointer;
  std::string message;
  int line = 0;
  int column = 0;
};

// "zilla.yaml:12:7 /bindings/x/options/acks: must be one of: ..."; the position is left out when
// unknown, the pointer when empty.
std::string formatProblem(std::string_view file, const ConfigProblem& problem);

// Appends one token to a JSON pointer, escaping '~' and '/' (RFC 6901).
std::string appendPointer(std::string_view pointer, std::string_view token);

// A compiled JSON Schema (draft-07: type, enum, const, properties, patternProperties,
// additionalProperties, required, propertyNames, dependencies, min/maxProperties, items,
// additionalItems, contains, min/maxItems, uniqueItems, min/maxLength, pattern, minimum, maximum,
// exclusiveMinimum/Maximum, multipleOf, allOf, anyOf, oneOf, not, if/then/else, boolean schemas,
// and $ref to "#..." pointers inside the same document; format is checked for date, time and
// date-time only; default, title and other annotations are ignored). Patterns are ECMAScript
// regular expressions; named groups "(?<Name>...)" are accepted and treated as plain groups.
//
// valijson decides whether a document is valid; the problems come from a hand-written walker
// that names the pointer and the broken rule in plain words. Should the walker find nothing where
// valijson fails, valijson's most specific error is the problem; where valijson passes a
// document, there are no problems.
class SchemaValidator {
 public:
  ~SchemaValidator();
  SchemaValidator(const SchemaValidator&) = delete;
  SchemaValidator& operator=(const SchemaValidator&) = delete;

  // Parses and checks the schema (keyword shapes, patterns, local $refs; valijson must parse it,
  // and its $refs must not loop back to the same value). Returns nullptr with `error` set when it
  // is not usable.
  static std::unique_ptr<SchemaValidator> compile(std::string_view schema_json, std::string& error);

  // Every problem of `document`, each reported once at the most specific pointer; empty when
  // the document is valid. Problems carry no line/column (see ConfigDocument::locate).
  std::vector<ConfigProblem> validate(const Json::Value& document) const;

 private:
  struct Impl;
  explicit SchemaValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A 1-based line and column in the original (unsubstituted) YAML text; 0 when unknown.
struct SourcePosition {
  int line = 0;
  int column = 0;
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment.
std::optional<std::string> processEnv(std::string_view name);

// zilla.yaml as JSON, with where each value came from.
struct ConfigDocument {
  Json::Value root;
  // JSON pointer -> position of the value, or of its key when the value starts on a later line.
  std::map<std::string, SourcePosition> positions;
  // JSON pointer of an object -> its keys in the order the YAML text gives them.
  std::map<std::string, std::vector<std::string>> key_order;
  // Names and values of the ${{env.NAME}} variables that were substituted. Values are secrets:
  // never log them (zilla-host masks the ones whose names look like secrets).
  std::vector<std::pair<std::string, std::string>> substitutions;

  // The position of `pointer`, or of its nearest ancestor that has one.
  SourcePosition positionOf(std::string_view pointer) const;
  // Fills line and column of each problem from positionOf(problem.pointer).
  void locate(std::vector<ConfigProblem>& problems) const;
  // The keys of the object at `pointer` in source order (falls back to the JSON object's order).
  std::vector<std::string> keysOf(std::string_view pointer, const Json::Value& object) const;
};

// Substitutes every ${{env.NAME}} (spaces allowed inside the braces) in `yaml_text` with the
// variable's value, then parses the YAML (one document) into `out`. Plain scalars follow YAML
// 1.2's core schema (null, true/false, integers, floats); quoted and block scalars are strings.
// Mapping keys are strings; a duplicate key is a problem. An unset variable is a problem naming
// it, at the value that uses it. Returns false with `problems` (already located) when the text
// cannot be used; the substituted text is never copied into a problem.
bool loadYaml(std::string_view yaml_text, const EnvLookup& env, ConfigDocument& out,
              std::vector<ConfigProblem>& problems);

// JSON text without whitespace, UTF-8 kept as is.
std::string toJsonText(const Json::Value& value);

// Parses JSON text; nullopt with `error` set when it is not JSON.
std::optional<Json::Value> parseJsonText(std::string_view text, std::string& error);

}  // namespace zb::runtime
