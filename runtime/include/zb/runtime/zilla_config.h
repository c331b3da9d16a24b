// zilla.yaml's meaning for the host: the root schema, the checks that need more than one schema
// (each binding against its own type's schema, names that must refer to declared bindings), and
// the typed view the host builds the engine from.
//
// Threading: the control thread.
#pragma once

#include <zb/runtime/config.h>
#include <zb/runtime/engine.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zb::runtime {

// schema/zilla.schema.json, compiled into the library at build time.
std::string_view zillaRootSchema();

// Gives the compiled schema of a binding type, or nullptr with `message` saying why (for example
// `no plugin for type "x" (looked in: ...)`). The pointer stays valid for the whole validation.
using BindingSchemaLookup =
    std::function<const SchemaValidator*(std::string_view type, std::string& message)>;

// Every problem of `document`, located and in source order: the root schema, then each binding
// entry against its type's schema (pointers prefixed with /bindings/<name>), then the names
// `entry`, `exit` and each route's `exit` must give declared bindings. Empty when valid.
std::vector<ConfigProblem> validateZillaConfig(const ConfigDocument& document,
                                               const SchemaValidator& root,
                                               const BindingSchemaLookup& binding_schema);

// One entry of `bindings`, as the engine needs it.
struct BindingEntry {
  std::string name;
  std::string type;
  std::string kind;
  std::string entry;
  std::string exit;
  std::string options_json = "{}";
  std::string routes_json = "[]";
  std::string binding_json = "{}";
};

// telemetry.exporters.<name> of type prometheus: one HTTP endpoint per entry of
// options.endpoints.
struct PrometheusEndpoint {
  std::string exporter;
  std::string path = "/metrics";
  int port = 0;
};

struct TelemetryConfig {
  std::vector<PrometheusEndpoint> prometheus;
  std::vector<std::string> stdout_exporters;  // names of the exporters of type stdout
};

struct ZillaConfig {
  std::string namespace_name;          // `name`
  std::vector<BindingEntry> bindings;  // in source order
  TelemetryConfig telemetry;
  // Top-level sections this host accepts but does not use ("guards", "vaults", "catalogs").
  std::vector<std::string> ignored_sections;
};

// The typed view of a document that validateZillaConfig accepted.
ZillaConfig readZillaConfig(const ConfigDocument& document);

// What the engine needs to declare one binding of `config`.
inline BindingDeclaration declarationOf(const ZillaConfig& config, const BindingEntry& binding) {
  BindingDeclaration declaration;
  declaration.namespace_name = config.namespace_name;
  declaration.name = binding.name;
  declaration.type = binding.type;
  declaration.kind = binding.kind;
  declaration.entry = binding.entry;
  declaration.exit = binding.exit;
  declaration.options_json = binding.options_json;
  declaration.routes_json = binding.routes_json;
  declaration.binding_json = binding.binding_json;
  return declaration;
}

}  // namespace zb::runtime
