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
// Fixed findings, kept as regression seeds in tests/fuzz/corpus/config_fuzz (docs/fuzzing.md):
// yaml-cpp 0.7's LoadAll looping on ",\n :", invalid UTF-8 reaching valijson's u8_strlen, and
// substituted secrets quoted in name and plugin-lookup problems.
#include "config.h"  // binding/kafka-grpc

#include <zb/runtime/config.h>
#include <zb/runtime/zilla_config.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
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

// `secret_allowed`: the secret is in the text itself, or in a property name.
void checkProblems(const std::vector<ConfigProblem>& problems, bool secret_allowed) {
  for (const ConfigProblem& problem : problems) {
    if (problem.message.empty()) {
      fail("a problem without a message at", problem.pointer);
    }
    // A YAML tag is a name too: "the YAML tag \"!x\" is not supported here" may quote it.
    const bool name = problem.message.rfind("the YAML tag ", 0) == 0;
    if (!secret_allowed && !name && problem.message.find(kSecret) != std::string::npos) {
      fail("a substituted secret leaked into a problem message", problem.message);
    }
    const std::string line = zb::runtime::formatProblem("zilla.yaml", problem);
    if (line.empty()) {
      fail("formatProblem gave nothing for", problem.pointer);
    }
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
