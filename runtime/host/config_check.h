// zilla.yaml's text checked whole, as `start` checks it before anything runs: YAML and
// ${{env.NAME}} substitution, the root schema, each binding against its type's schema (loading
// the plugin of a type on first use), and the names bindings refer to. `validate`, `start` and
// every reload go through it, so a reload refuses exactly what a start would.
#pragma once

#include "binding_plugins.h"

#include <zb/runtime/config.h>
#include <zb/runtime/zilla_config.h>

#include <string>
#include <vector>

namespace zb::host {

struct CheckedConfig {
  zb::runtime::ConfigDocument document;
  zb::runtime::ZillaConfig config;                   // when `problems` is empty
  std::vector<zb::runtime::ConfigProblem> problems;  // in source order
  bool schema_unusable = false;  // the built-in root schema did not compile (a build defect)
};

// Thread: control (any one thread at a time per BindingPlugins).
CheckedConfig checkConfigText(const std::string& text, BindingPlugins& plugins);

// Reads `path` whole into `text`; false with `error` (strerror) when it cannot.
bool readConfigFile(const std::string& path, std::string& text, std::string& error);

}  // namespace zb::host
