// The hand-written JSON Schema draft-07 walker behind SchemaValidator's messages (internal to
// zb_config; the tests include it to compare it with valijson).
#pragma once

#include <zb/runtime/config.h>

#include <json/value.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zb::runtime::config_detail {

// Walks a document along a schema and names every broken rule once, at the pointer of the value
// that broke it, in plain words. For anyOf/oneOf it reports the alternative the value came
// closest to. It follows at most 128 levels of schema, so a $ref loop ends in a problem.
class SchemaWalker {
 public:
  ~SchemaWalker();
  SchemaWalker(const SchemaWalker&) = delete;
  SchemaWalker& operator=(const SchemaWalker&) = delete;

  // Checks the shape of every keyword, compiles the patterns and resolves the local $refs;
  // nullptr with `error` ("schema/properties/a: ...") when the schema is not usable.
  static std::unique_ptr<SchemaWalker> compile(const Json::Value& schema, std::string& error);

  // The problems of `document`; empty when the walker finds none.
  std::vector<ConfigProblem> problems(const Json::Value& document) const;

 private:
  struct Rules;
  explicit SchemaWalker(std::unique_ptr<Rules> rules);
  std::unique_ptr<Rules> rules_;
};

// `pattern` with each named group "(?<Name>" written as a plain group "(": ECMAScript 2018 and
// Zilla's Java patterns have named groups, std::regex only plain ones, which match the same text.
std::string withoutGroupNames(std::string_view pattern);

// The node a local $ref ("#", "#/definitions/a%20b") names inside `root`; nullptr when it names
// nothing or is not local.
const Json::Value* resolveLocalRef(const Json::Value& root, std::string_view ref);

}  // namespace zb::runtime::config_detail
