// SchemaValidator: one plain message per broken rule, at the pointer of the value that broke it;
// valijson's verdict with the walker's messages; and the two engines agreeing on valid/invalid
// for every document checked here.
#include "engine_agreement.h"
#include "test_support.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <valijson/adapters/jsoncpp_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

using zb::runtime::ConfigProblem;
using zb::runtime::SchemaValidator;
using zb::test::checkEnginesAgree;
using zb::test::compileOrFail;
using zb::test::describe;
using zb::test::hasProblem;
using zb::test::json;

namespace {

// A binding entry schema in the shape binding types publish (Zilla's kafka-grpc rules).
const char* const kBindingSchema = R"json({
  "type": "object",
  "properties": {
    "type": { "const": "kafka-grpc" },
    "kind": { "enum": ["remote_server"] },
    "entry": { "type": "string", "pattern": "^[a-zA-Z]+[a-zA-Z0-9\\._\\-]*$" },
    "exit": false,
    "options": {
      "type": "object",
      "properties": {
        "acks": { "type": "string", "enum": ["none", "leader_only", "in_sync_replicas"],
                  "default": "in_sync_replicas" },
        "correlation": {
          "type": "object",
          "properties": {
            "headers": {
              "type": "object",
              "properties": { "service": { "type": "string" } },
              "additionalProperties": false
            }
          },
          "additionalProperties": false
        }
      }
    },
    "routes": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "exit": { "type": "string" },
          "when": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "topic": { "type": "string" },
                "reply-to": { "type": "string" },
                "method": { "type": "string", "pattern": "^(?<Service>[^/]+)/(?<Method>[^/]+)" }
              },
              "required": ["topic", "reply-to"],
              "additionalProperties": false
            }
          },
          "with": {
            "type": "object",
            "properties": { "scheme": { "type": "string" }, "authority": { "type": "string" } },
            "required": ["scheme", "authority"],
            "additionalProperties": false
          }
        },
        "required": ["with"]
      }
    }
  },
  "required": ["type", "kind", "entry", "routes"]
})json";

// The problems of `document`, after checking that valijson and the walker agree on it.
std::vector<ConfigProblem> check(std::string_view schema, std::string_view document) {
  const Json::Value value = json(document);
  checkEnginesAgree(schema, value);
  return compileOrFail(schema)->validate(value);
}

}  // namespace

TEST_CASE("a valid binding entry has no problems") {
  const auto problems = check(kBindingSchema, R"({
    "type": "kafka-grpc", "kind": "remote_server", "entry": "kafka0",
    "options": { "acks": "leader_only", "correlation": { "headers": { "service": "s" } } },
    "routes": [ { "exit": "grpc0",
                  "when": [ { "topic": "requests", "reply-to": "responses",
                              "method": "example.EchoService/*" } ],
                  "with": { "scheme": "http", "authority": "localhost:7151" } } ] })");
  CHECK_MESSAGE(problems.empty(), describe(problems));
}

TEST_CASE("enum, required, additional property, false schema and pattern each give one line") {
  const auto problems = check(kBindingSchema, R"({
    "type": "kafka-grpc", "kind": "remote_server", "entry": "9kafka", "exit": "x",
    "options": { "acks": "sometimes", "correlation": { "headers": { "servce": "s" } } },
    "routes": [ { "when": [ { "topic": "requests", "method": "no-slash" } ],
                  "with": { "scheme": "http" } } ] })");
  INFO(describe(problems));
  CHECK(
      hasProblem(problems, "/options/acks", "must be one of: none, leader_only, in_sync_replicas"));
  CHECK(hasProblem(problems, "/options/correlation/headers/servce",
                   "property \"servce\" is not allowed (allowed: service)"));
  CHECK(hasProblem(problems, "/routes/0/when/0", "required property \"reply-to\" is missing"));
  CHECK(hasProblem(problems, "/routes/0/when/0/method",
                   "must match the pattern ^(?<Service>[^/]+)/(?<Method>[^/]+)"));
  CHECK(hasProblem(problems, "/routes/0/with", "required property \"authority\" is missing"));
  CHECK(hasProblem(problems, "/entry", "must match the pattern"));
  CHECK(hasProblem(problems, "/exit", "property \"exit\" is not allowed"));
  // Only the specific lines: no "failed to validate property" chain above them.
  CHECK(problems.size() == 7);
}

TEST_CASE("types, consts and numbers are named in the message") {
  const char* schema = R"({
    "type": "object",
    "properties": {
      "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
      "ratio": { "type": "number", "exclusiveMaximum": 1 },
      "name": { "type": ["string", "null"], "minLength": 2, "maxLength": 3 },
      "kind": { "const": "client" },
      "step": { "type": "integer", "multipleOf": 5 },
      "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "uniqueItems": true }
    }
  })";
  auto problems = check(schema, R"({"port": "7151", "ratio": 1, "name": 5, "kind": "server",
                                    "step": 7, "tags": ["a", 2, "a"]})");
  INFO(describe(problems));
  CHECK(hasProblem(problems, "/port", "must be an integer"));
  CHECK(hasProblem(problems, "/ratio", "must be less than 1"));
  CHECK(hasProblem(problems, "/name", "must be a string or null"));
  CHECK(hasProblem(problems, "/kind", "must be \"client\""));
  CHECK(hasProblem(problems, "/step", "must be a multiple of 5"));
  CHECK(hasProblem(problems, "/tags/1", "must be a string"));
  CHECK(hasProblem(problems, "/tags", "must not repeat an item (items 0 and 2 are equal)"));

  problems = check(schema, R"({"port": 0, "name": "x", "tags": []})");
  CHECK(hasProblem(problems, "/port", "must be at least 1"));
  CHECK(hasProblem(problems, "/name", "must be at least 2 characters long"));
  CHECK(hasProblem(problems, "/tags", "must not be empty"));
  CHECK(check(schema, R"({"port": 65536})").front().message == "must be at most 65535");
  CHECK(check(schema, R"({"port": 7151.0})").empty());  // 7151.0 is an integer in draft-07
}

TEST_CASE("every unexpected property is reported, not only the first") {
  const auto problems = check(R"({"properties": {"a": {}}, "additionalProperties": false})",
                              R"({"a": 1, "b": 2, "c": 3})");
  CHECK(problems.size() == 2);
  CHECK(hasProblem(problems, "/b", "property \"b\" is not allowed (allowed: a)"));
  CHECK(hasProblem(problems, "/c", "property \"c\" is not allowed"));
}

TEST_CASE("pointers escape ~ and / in keys (RFC 6901)") {
  const auto problems =
      check(R"({"additionalProperties": {"type": "integer"}})", R"({"a/b": "x", "m~n": "y"})");
  CHECK(hasProblem(problems, "/a~1b", "must be an integer"));
  CHECK(hasProblem(problems, "/m~0n", "must be an integer"));
}

TEST_CASE("if/then/else applies the branch the condition selects") {
  const char* schema = R"({
    "type": "object",
    "properties": { "type": { "type": "string" }, "options": { "type": "object" } },
    "if": { "properties": { "type": { "const": "prometheus" } }, "required": ["type"] },
    "then": { "properties": { "options": { "required": ["endpoints"] } } },
    "else": { "properties": { "options": { "additionalProperties": false } } }
  })";
  auto problems = check(schema, R"({"type": "prometheus", "options": {}})");
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "/options", "required property \"endpoints\" is missing"));
  problems = check(schema, R"({"type": "stdout", "options": {"endpoints": []}})");
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "/options/endpoints", "property \"endpoints\" is not allowed"));
  CHECK(check(schema, R"({"type": "stdout", "options": {}})").empty());
}

TEST_CASE("oneOf reports the alternative the value came closest to") {
  const char* schema = R"({
    "oneOf": [
      { "type": "object", "properties": { "kind": { "const": "tcp" }, "port": { "type": "integer" } },
        "required": ["kind", "port"] },
      { "type": "object", "properties": { "kind": { "const": "unix" }, "path": { "type": "string" } },
        "required": ["kind", "path"] }
    ]
  })";
  // The value says kind unix, so the problems are those of the unix alternative.
  auto problems = check(schema, R"({"kind": "unix"})");
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "", "required property \"path\" is missing"));
  // The wrong kind of value altogether: one line naming what each alternative wants.
  problems = check(R"({"oneOf": [{"type": "string"}, {"type": "array"}]})", "5");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message == "must be a string, or must be an array");
  // Matching two alternatives breaks oneOf.
  problems = check(R"({"oneOf": [{"type": "integer"}, {"minimum": 0}]})", "5");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message == "must match exactly one alternative, but matches 2 of them");
  CHECK(check(R"({"anyOf": [{"type": "integer"}, {"minimum": 0}]})", "5").empty());
}

TEST_CASE("$ref to definitions, recursion, not, dependencies, propertyNames, contains") {
  const char* schema = R"({
    "definitions": {
      "node": { "type": "object", "properties": { "next": { "$ref": "#/definitions/node" },
                                                   "id": { "type": "integer" } } }
    },
    "properties": {
      "list": { "$ref": "#/definitions/node" },
      "forbidden": { "not": { "type": "string" } },
      "map": { "type": "object", "propertyNames": { "pattern": "^[a-z]+$" } },
      "pair": { "type": "object", "dependencies": { "user": ["password"] } },
      "items": { "type": "array", "contains": { "const": "x" } }
    }
  })";
  const auto problems = check(schema, R"({"list": {"next": {"next": {"id": "three"}}},
                                          "forbidden": "text", "map": {"Upper": 1},
                                          "pair": {"user": "u"}, "items": ["a"]})");
  INFO(describe(problems));
  CHECK(hasProblem(problems, "/list/next/next/id", "must be an integer"));
  CHECK(hasProblem(problems, "/forbidden", "must not match the schema given under \"not\""));
  CHECK(hasProblem(problems, "/map/Upper", "property name \"Upper\" must match the pattern"));
  CHECK(hasProblem(problems, "/pair", "property \"user\" requires property \"password\""));
  CHECK(hasProblem(problems, "/items", "must contain at least one item"));
  CHECK(problems.size() == 5);
}

TEST_CASE("a schema that cannot be used is refused at compile time with a reason") {
  std::string error;
  CHECK(SchemaValidator::compile("{not json", error) == nullptr);
  CHECK(error.find("not valid JSON") != std::string::npos);
  CHECK(SchemaValidator::compile(R"({"properties": {"a": {"pattern": "(unclosed"}}})", error) ==
        nullptr);
  CHECK(error.find("schema/properties/a") != std::string::npos);
  CHECK(error.find("is not a supported regular expression") != std::string::npos);
  CHECK(SchemaValidator::compile(R"({"$ref": "#/definitions/missing"})", error) == nullptr);
  CHECK(error.find("does not resolve") != std::string::npos);
  CHECK(SchemaValidator::compile(R"({"$ref": "http://example.com/s.json"})", error) == nullptr);
  CHECK(SchemaValidator::compile(R"({"required": "name"})", error) == nullptr);
  CHECK(error.find("\"required\" must be an array of strings") != std::string::npos);
  CHECK(SchemaValidator::compile(R"({"type": "text"})", error) == nullptr);
  CHECK(SchemaValidator::compile("true", error) != nullptr);
}

TEST_CASE("a schema valijson cannot parse is refused with valijson's reason") {
  std::string error;
  // Draft-4's boolean exclusiveMinimum: the walker would take it, valijson's draft-07 parser not.
  CHECK(SchemaValidator::compile(R"({"minimum": 1, "exclusiveMinimum": true})", error) == nullptr);
  CHECK(error ==
        "schema: valijson cannot use it: Expected numeric value for exclusiveMinimum "
        "constraint.");
  CHECK(SchemaValidator::compile(R"({"properties": {"day": {"format": 5}}})", error) == nullptr);
  CHECK(error.find("valijson cannot use it") != std::string::npos);
}

TEST_CASE(
    "$refs that loop on one value are refused at compile time; recursion into values is not") {
  std::string error;
  CHECK(SchemaValidator::compile(R"({"$ref": "#"})", error) == nullptr);
  CHECK(error ==
        "schema: \"$ref\" \"#\" leads back to schema without going into a property or an item; "
        "valijson cannot evaluate such a loop");
  CHECK(SchemaValidator::compile(
            R"({"properties": {"a": {"allOf": [{"$ref": "#/properties/a"}]}}})", error) == nullptr);
  CHECK(error.rfind("schema/properties/a/allOf/0: \"$ref\" \"#/properties/a\" leads back to "
                    "schema/properties/a ",
                    0) == 0);
  CHECK(SchemaValidator::compile(R"({"definitions": {"a": {"not": {"$ref": "#/definitions/b"}},
                                                      "b": {"if": {"$ref": "#/definitions/a"}}}})",
                                 error) == nullptr);
  CHECK(error.find("valijson cannot evaluate such a loop") != std::string::npos);

  // A linked list: each $ref goes one property deeper, so it ends with the document.
  const char* list_schema = R"({
    "definitions": { "node": { "type": "object", "required": ["id"],
      "properties": { "id": { "type": "integer" }, "next": { "$ref": "#/definitions/node" } },
      "additionalProperties": false } },
    "$ref": "#/definitions/node" })";
  const auto list = compileOrFail(list_schema);
  Json::Value document = json(R"({"id": 0})");
  for (int i = 1; i < 300; ++i) {
    Json::Value outer(Json::objectValue);
    outer["id"] = i;
    outer["next"] = std::move(document);
    document = std::move(outer);
  }
  // valijson follows all 300 levels; the walker stops at 128 levels of schema and objects, which
  // validate() ignores because valijson calls the document valid.
  CHECK(list->validate(document).empty());
  CHECK_FALSE(zb::test::EnginePair(list_schema).disagreement(document).empty());
  Json::Value* last = &document;
  std::string pointer;
  while (last->isMember("next")) {
    last = &(*last)["next"];
    pointer += "/next";
  }
  (*last)["id"] = "zero";
  const auto problems = list->validate(document);
  REQUIRE(problems.size() == 1);
  // 299 levels: deeper than the walker follows, which it says (on the way to the broken id);
  // the verdict is valijson's.
  CHECK(problems[0].message.find("nested deeper") != std::string::npos);
  CHECK(pointer.rfind(problems[0].pointer, 0) == 0);
}

TEST_CASE("Zilla's named groups reach valijson as plain groups; messages quote them as written") {
  using zb::runtime::config_detail::withPlainGroups;
  const Json::Value schema = json(R"json({
    "properties": {
      "method": { "type": "string", "pattern": "^(?<Service>[^/]+)/(?<Method>[^/]+)$" },
      "pattern": { "enum": [{ "pattern": "(?<Kept>x)" }], "default": "(?<Kept>x)" },
      "escaped": { "pattern": "a\\(?<notAGroup>" }
    },
    "patternProperties": { "^(?<Prefix>x)-": { "items": { "pattern": "(?<N>[0-9]+)" } } },
    "definitions": { "enum": { "pattern": "(?<InDefinitions>.)" } }
  })json");
  const Json::Value plain = withPlainGroups(schema);
  CHECK(plain["properties"]["method"]["pattern"].asString() == "^([^/]+)/([^/]+)$");
  CHECK(plain["properties"]["pattern"] == schema["properties"]["pattern"]);  // data stays
  CHECK(plain["properties"]["escaped"]["pattern"].asString() == "a\\(?<notAGroup>");
  // Lookbehinds are not named groups (std::regex refuses them; the walker says so at compile).
  CHECK(withPlainGroups(json(R"json({"pattern": "(?<=a)(?<!b)"})json"))["pattern"].asString() ==
        "(?<=a)(?<!b)");
  REQUIRE(plain["patternProperties"].isMember("^(x)-"));
  CHECK(plain["patternProperties"]["^(x)-"]["items"]["pattern"].asString() == "([0-9]+)");
  CHECK(plain["definitions"]["enum"]["pattern"].asString() == "(.)");

  const auto validator = compileOrFail(zb::runtime::toJsonText(schema));
  CHECK(validator->validate(json(R"({"method": "a.B/C", "x-1": ["7"]})")).empty());
  const auto problems = validator->validate(json(R"({"method": "a.B", "x-1": ["seven"]})"));
  INFO(describe(problems));
  CHECK(hasProblem(problems, "/method",
                   "must match the pattern ^(?<Service>[^/]+)/(?<Method>[^/]+)$"));
  CHECK(hasProblem(problems, "/x-1/0", "must match the pattern (?<N>[0-9]+)"));
}

TEST_CASE("valijson's context path becomes an RFC 6901 pointer") {
  using zb::runtime::config_detail::pointerOfContext;
  CHECK(pointerOfContext({"<root>"}).empty());
  CHECK(pointerOfContext({"<root>", "[bindings]", "[a/b~c]", "[routes]", "[0]"}) ==
        "/bindings/a~1b~0c/routes/0");
  CHECK(pointerOfContext({"<root>", "[]"}) == "/");  // the empty key
  CHECK(pointerOfContext({"<root>", "[[x]]"}) == "/[x]");
}

TEST_CASE("where only valijson objects, its deepest error is the problem") {
  // The walker ignores "format"; valijson 1.0 checks date, time and date-time.
  const char* schema = R"({"properties": {"window": {"type": "object",
                            "properties": {"day": {"type": "string", "format": "date"}}}}})";
  const auto problems = compileOrFail(schema)->validate(json(R"({"window": {"day": "monday"}})"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].pointer == "/window/day");
  CHECK(problems[0].message == "String should be a valid date");
  CHECK(compileOrFail(schema)->validate(json(R"({"window": {"day": "2024-05-01"}})")).empty());
  // valijson checks property names without collecting errors: invalid, but nothing named.
  const auto no_detail =
      compileOrFail(R"({"propertyNames": {"format": "date"}})")->validate(json(R"({"monday": 1})"));
  REQUIRE(no_detail.size() == 1);
  CHECK(no_detail[0].pointer.empty());
  CHECK(no_detail[0].message == "does not match the schema");
}

// ---- Differential check: valijson and the walker agree on a corpus, and validate() gives
// plain valijson's verdict wherever plain valijson can run (no named groups).

namespace {

bool valijsonAccepts(const Json::Value& schema_json, const Json::Value& document) {
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::JsonCppAdapter schema_adapter(schema_json);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::adapters::JsonCppAdapter document_adapter(document);
  return validator.validate(schema, document_adapter, nullptr);
}

}  // namespace

TEST_CASE("valid or not: the walker agrees with valijson on a corpus") {
  struct Case {
    const char* schema;
    std::vector<const char*> documents;
  };
  const char* binding_without_named_groups = R"json({
    "type": "object",
    "properties": {
      "type": { "const": "kafka-grpc" }, "kind": { "enum": ["remote_server"] },
      "exit": false,
      "options": { "type": "object", "properties": { "acks": { "enum": ["none", "leader_only"] } },
                   "additionalProperties": false },
      "routes": { "type": "array", "items": { "type": "object",
        "properties": { "when": { "type": "array", "items": { "type": "object",
          "properties": { "topic": { "type": "string" }, "method": { "pattern": "^[^/]+/[^/]+$" } },
          "required": ["topic"], "additionalProperties": false } } }, "required": ["when"] } }
    },
    "required": ["type", "kind"],
    "if": { "properties": { "kind": { "const": "remote_server" } } },
    "then": { "required": ["routes"] }
  })json";
  const std::vector<Case> cases = {
      {binding_without_named_groups,
       {R"({"type": "kafka-grpc", "kind": "remote_server", "routes": []})",
        R"({"type": "kafka-grpc", "kind": "remote_server"})",
        R"({"type": "kafka-grpc", "kind": "client", "routes": []})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [], "exit": "x"})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [{"when": [{"topic": "t"}]}]})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [{"when": [{"topic": 1}]}]})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [{"when": [{"topic": "t", "method": "a/b"}]}]})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [{"when": [{"topic": "t", "method": "ab"}]}]})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [], "options": {"acks": "none"}})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [], "options": {"acks": "all"}})",
        R"({"type": "kafka-grpc", "kind": "remote_server", "routes": [], "options": {"x": 1}})",
        R"([1, 2])"}},
      {R"({"oneOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 10}]})",
       {R"("ab")", R"("abcd")", "10", "9", "null", "10.5"}},
      {R"({"anyOf": [{"required": ["a"]}, {"required": ["b"]}], "not": {"required": ["c"]}})",
       {R"({"a": 1})", R"({"b": 1})", R"({})", R"({"a": 1, "c": 1})"}},
      {R"({"type": "array", "items": [{"type": "string"}], "additionalItems": false,
           "uniqueItems": true})",
       {R"(["a"])", R"(["a", "b"])", R"([1])", R"([])"}},
      {R"({"definitions": {"p": {"type": "integer", "minimum": 0, "maximum": 65535}},
           "properties": {"port": {"$ref": "#/definitions/p"}},
           "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false})",
       {R"({"port": 80})", R"({"port": -1})", R"({"port": 70000})", R"({"x-a": "s"})",
        R"({"x-a": 1})", R"({"y": 1})"}},
  };
  for (const Case& c : cases) {
    const Json::Value schema_json = json(c.schema);
    const auto validator = compileOrFail(c.schema);
    const zb::test::EnginePair engines(c.schema);
    for (const char* document_text : c.documents) {
      const Json::Value document = json(document_text);
      const auto problems = validator->validate(document);
      INFO("schema: " << c.schema);
      INFO("document: " << document_text << "\n" << describe(problems));
      checkEnginesAgree(engines, document);
      CHECK(problems.empty() == valijsonAccepts(schema_json, document));
    }
  }
}
