// A JSON Schema compiled by valijson, the engine that decides whether a document is valid
// (internal to zb_config; the tests include it to compare valijson with the walker).
#pragma once

#include <zb/runtime/config.h>

#include <json/value.h>

#include <memory>
#include <string>
#include <vector>

namespace zb::runtime::config_detail {

// valijson's answer for one document. When it is invalid, `deepest` is valijson's error with the
// longest context path (the most specific), as a problem; one at the root when valijson names
// none. When valijson could not evaluate the document (it threw), `undecided` is set and
// `deepest` says why.
struct ValijsonVerdict {
  bool valid = false;
  bool undecided = false;
  ConfigProblem deepest;
};

class ValijsonSchema {
 public:
  ~ValijsonSchema();
  ValijsonSchema(const ValijsonSchema&) = delete;
  ValijsonSchema& operator=(const ValijsonSchema&) = delete;

  // Parses `schema` (draft-07) with valijson::SchemaParser after writing Zilla's named groups
  // as plain groups (see withPlainGroups). nullptr with `error` when valijson cannot use it: it
  // refuses to parse it, or its $refs loop back to the same value without going into the
  // document (valijson would recurse until the stack runs out).
  static std::unique_ptr<ValijsonSchema> compile(const Json::Value& schema, std::string& error);

  ValijsonVerdict check(const Json::Value& document) const;

 private:
  struct Parsed;
  explicit ValijsonSchema(std::unique_ptr<Parsed> parsed);
  std::unique_ptr<Parsed> parsed_;
};

// A copy of `schema` in which every "pattern" and every patternProperties key has its named
// groups "(?<Name>" written as "(": valijson compiles patterns with std::regex, which refuses
// named groups. Values of enum, const, default and examples are data and stay as they are.
Json::Value withPlainGroups(const Json::Value& schema);

// valijson's context path ("<root>", "[bindings]", "[0]") as an RFC 6901 pointer
// ("/bindings/0"); "" for the root.
std::string pointerOfContext(const std::vector<std::string>& context);

// Why valijson cannot evaluate `schema` because its $refs loop: a $ref leads, through $refs and
// the applicators that stay on the same value (allOf, anyOf, oneOf, not, if, then, else, schema
// dependencies), back to a schema it started from without going into a property or an item.
// valijson follows such a loop until the stack runs out. Empty when there is no such loop.
std::string describeRefLoop(const Json::Value& schema);

}  // namespace zb::runtime::config_detail
