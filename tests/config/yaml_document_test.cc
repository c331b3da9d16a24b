// loadYaml: YAML 1.2 scalars, positions of values, ${{env.NAME}} substitution, and errors with
// their line and column.
#include "test_support.h"

#include <map>

using zb::runtime::ConfigDocument;
using zb::runtime::ConfigProblem;
using zb::runtime::EnvLookup;
using zb::runtime::loadYaml;
using zb::test::describe;

namespace {

EnvLookup envOf(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    const auto found = values.find(std::string(name));
    if (found == values.end()) {
      return std::nullopt;
    }
    return found->second;
  };
}

struct Loaded {
  bool ok;
  ConfigDocument document;
  std::vector<ConfigProblem> problems;
};

Loaded load(std::string_view text, const EnvLookup& env = envOf({})) {
  Loaded loaded;
  loaded.ok = loadYaml(text, env, loaded.document, loaded.problems);
  return loaded;
}

}  // namespace

TEST_CASE("plain scalars follow YAML 1.2; quoted and block scalars stay strings") {
  const Loaded loaded = load(
      "port: 7151\n"
      "quoted_port: \"7151\"\n"
      "single: '7151'\n"
      "negative: -3\n"
      "big: 18446744073709551615\n"
      "ratio: 0.5\n"
      "exp: 1e3\n"
      "hex: 0x1F\n"
      "yes_is_text: yes\n"
      "flag: true\n"
      "off: False\n"
      "nothing: ~\n"
      "empty:\n"
      "null_text: \"null\"\n"
      "version: 0.9.130\n"
      "tagged: !!str 42\n"
      "block: |\n"
      "  line\n"
      "list: [1, two, \"3\"]\n");
  REQUIRE_MESSAGE(loaded.ok, describe(loaded.problems));
  const Json::Value& root = loaded.document.root;
  CHECK(root["port"].isIntegral());
  CHECK(root["port"].asInt() == 7151);
  CHECK(root["quoted_port"].isString());
  CHECK(root["single"].asString() == "7151");
  CHECK(root["negative"].asInt() == -3);
  CHECK(root["big"].asUInt64() == 18446744073709551615ull);
  CHECK(root["ratio"].asDouble() == 0.5);
  CHECK(root["exp"].asDouble() == 1000.0);
  CHECK(root["hex"].asInt() == 31);
  CHECK(root["yes_is_text"].asString() == "yes");
  CHECK(root["flag"].asBool());
  CHECK(root["off"].isBool());
  CHECK(root["nothing"].isNull());
  CHECK(root["empty"].isNull());
  CHECK(root["null_text"].asString() == "null");
  CHECK(root["version"].asString() == "0.9.130");
  CHECK(root["tagged"].asString() == "42");
  CHECK(root["block"].asString() == "line\n");
  CHECK(root["list"][0].asInt() == 1);
  CHECK(root["list"][1].asString() == "two");
  CHECK(root["list"][2].asString() == "3");
}

TEST_CASE("every value has its line and column; keys keep the file's order") {
  const Loaded loaded = load(
      "name: test\n"
      "bindings:\n"
      "  zeta:\n"
      "    type: kafka\n"
      "    options: {acks: none}\n"
      "  alpha:\n"
      "    routes:\n"
      "      - exit: zeta\n"
      "        when:\n"
      "          - topic: t\n");
  REQUIRE(loaded.ok);
  const ConfigDocument& doc = loaded.document;
  auto at = [&](const char* pointer) {
    const auto position = doc.positionOf(pointer);
    return std::to_string(position.line) + ":" + std::to_string(position.column);
  };
  CHECK(at("/name") == "1:7");
  CHECK(at("/bindings") == "2:1");  // a block mapping: located at its key
  CHECK(at("/bindings/zeta/type") == "4:11");
  CHECK(at("/bindings/zeta/options") == "5:14");  // a flow mapping on the key's line
  CHECK(at("/bindings/zeta/options/acks") == "5:21");
  CHECK(at("/bindings/alpha/routes/0") == "8:9");
  CHECK(at("/bindings/alpha/routes/0/when/0/topic") == "10:20");
  CHECK(at("/bindings/alpha/routes/0/when/0/missing") == "10:13");  // nearest ancestor
  CHECK(doc.keysOf("/bindings", doc.root["bindings"]) == std::vector<std::string>{"zeta", "alpha"});
}

TEST_CASE("${{env.NAME}} is substituted before parsing; positions stay those of the file") {
  const Loaded loaded = load(
      "name: ${{env.NAMESPACE}}\n"
      "authority: ${{env.HOST}}:${{ env.PORT }}\n"
      "port: ${{env.PORT}}\n"
      "quoted: \"${{env.PORT}}\"\n"
      "after: ${{env.HOST}} x\n"
      "# commented: ${{env.NOT_SET}}\n",
      envOf({{"NAMESPACE", "example"}, {"HOST", "a-rather-long-host-name"}, {"PORT", "50051"}}));
  REQUIRE_MESSAGE(loaded.ok, describe(loaded.problems));
  const Json::Value& root = loaded.document.root;
  CHECK(root["name"].asString() == "example");
  CHECK(root["authority"].asString() == "a-rather-long-host-name:50051");
  CHECK(root["port"].isIntegral());  // as if the number had been written there
  CHECK(root["port"].asInt() == 50051);
  CHECK(root["quoted"].asString() == "50051");
  const auto after = loaded.document.positionOf("/after");
  CHECK(after.line == 5);
  CHECK(after.column == 8);
  CHECK(loaded.document.substitutions.size() == 3);
}

TEST_CASE("an unset variable is a problem naming it, at the value using it") {
  const Loaded loaded = load(
      "name: test\n"
      "options:\n"
      "  servers: [\"${{env.KAFKA_BOOTSTRAP}}\"]\n"
      "  password: ${{env.SECRET_ONE}}\n",
      envOf({}));
  CHECK_FALSE(loaded.ok);
  INFO(describe(loaded.problems));
  REQUIRE(loaded.problems.size() == 2);
  CHECK(loaded.problems[0].pointer == "/options/servers/0");
  CHECK(loaded.problems[0].message == "environment variable KAFKA_BOOTSTRAP is not set");
  CHECK(loaded.problems[0].line == 3);
  CHECK(loaded.problems[1].pointer == "/options/password");
  CHECK(loaded.problems[1].message == "environment variable SECRET_ONE is not set");
  CHECK(loaded.problems[1].line == 4);
  CHECK(loaded.problems[1].column == 13);
}

TEST_CASE("substituted secrets never appear in a problem") {
  const Loaded loaded =
      load("name: test\nbad: [${{env.PASSWORD}}\n", envOf({{"PASSWORD", "hunter2-secret"}}));
  CHECK_FALSE(loaded.ok);
  REQUIRE_FALSE(loaded.problems.empty());
  CHECK(describe(loaded.problems).find("hunter2") == std::string::npos);
}

TEST_CASE("YAML syntax errors give the line and column") {
  Loaded loaded = load("name: test\nbindings:\n  a: [1, 2\n  b: 3\n");
  CHECK_FALSE(loaded.ok);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].message.rfind("YAML syntax error: ", 0) == 0);
  CHECK(loaded.problems[0].line == 4);

  loaded = load("name: test\nkey: a: b\n");
  REQUIRE(loaded.problems.size() == 1);
  CHECK(zb::runtime::formatProblem("zilla.yaml", loaded.problems[0]) ==
        "zilla.yaml:2:7: YAML syntax error: illegal map value");
}

TEST_CASE("duplicate keys and several documents are problems") {
  Loaded loaded = load("name: a\nname: b\n");
  CHECK_FALSE(loaded.ok);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].pointer == "/name");
  CHECK(loaded.problems[0].message == "duplicate key \"name\"");
  CHECK(loaded.problems[0].line == 2);

  loaded = load("name: a\n---\nname: b\n");
  CHECK_FALSE(loaded.ok);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].message.find("one YAML document") != std::string::npos);
  CHECK(loaded.problems[0].line == 2);
}

TEST_CASE("a text on which yaml-cpp 0.7's LoadAll never returns is answered (fuzz finding)") {
  // jbeder/yaml-cpp#1040: its parser reports a new document forever; we stop at the second.
  const Loaded loaded = load(",\n :");
  CHECK_FALSE(loaded.ok);
  REQUIRE_FALSE(loaded.problems.empty());
  CHECK(loaded.problems[0].line > 0);
}

TEST_CASE("text that is not UTF-8 is refused where it starts, before any parsing") {
  struct Case {
    std::string text;
    int line;
    int column;
  };
  const Case cases[] = {
      {"name: \xCD\xCD\xCD\xCD\xCD\xCD\xCD\xCD\nbindings: {}\n", 1, 7},  // fuzz finding
      {"name: a\nx: \xFF\n", 2, 4},
      {"name: a\nx: \xC0\xAF\n", 2, 4},          // overlong '/'
      {"name: a\nx: \xED\xA0\x80\n", 2, 4},      // a surrogate
      {"name: a\nx: \xF4\x90\x80\x80\n", 2, 4},  // above U+10FFFF
      {"name: a\nx: ok\xE2\x82", 2, 6},          // cut short at the end
  };
  for (const Case& c : cases) {
    const Loaded loaded = load(c.text);
    CHECK_FALSE(loaded.ok);
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems[0].message == "the file is not valid UTF-8 text (a bad byte here)");
    CHECK(loaded.problems[0].line == c.line);
    CHECK(loaded.problems[0].column == c.column);
  }
  const Loaded fine = load("name: \"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"\n");
  REQUIRE_MESSAGE(fine.ok, describe(fine.problems));
  CHECK(fine.document.root["name"].asString() == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST_CASE("an environment variable that is not UTF-8 is refused at its placeholder") {
  const Loaded loaded = load("name: a\nx: ${{env.BAD}}\n", envOf({{"BAD", std::string("se\xFF"
                                                                                      "cret")}}));
  CHECK_FALSE(loaded.ok);
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems[0].message == "environment variable BAD is not valid UTF-8 text");
  CHECK(loaded.problems[0].line == 2);
  CHECK(loaded.problems[0].column == 4);
}

TEST_CASE("an empty file is a null document, left to the schema to refuse") {
  const Loaded loaded = load("");
  CHECK(loaded.ok);
  CHECK(loaded.document.root.isNull());
}
