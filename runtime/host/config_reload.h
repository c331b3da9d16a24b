// Reloads: zilla.yaml read again (on a change of the file, or SIGHUP), checked whole as `start`
// checks it, and applied to the running engine binding by binding. A binding whose declaration
// is the same, and that names no replaced binding, keeps running untouched; one that changed, or
// names one that is replaced, gets a new instance while the old one drains (Engine::replace).
// An invalid change is logged with the same messages as `validate`, and the running config
// stays. Plugins are never loaded again: a type already loaded keeps its .so.
#pragma once

#include "binding_plugins.h"
#include "metric_registry.h"
#include "structured_log.h"

#include <zb/runtime/engine.h>
#include <zb/runtime/zilla_config.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace zb::host {

// What a reload changes.
struct ReloadPlan {
  // Created anew, in source order: the added bindings and the replaced ones.
  std::vector<zb::runtime::BindingDeclaration> fresh;
  std::vector<std::string> replaced;  // names among `fresh` that run now
  std::vector<std::string> added;     // names among `fresh` that do not
  std::vector<std::string> removed;
  std::vector<std::string> kept;
  bool telemetry_changed = false;  // applies at the next start only

  bool changesBindings() const { return !fresh.empty() || !removed.empty(); }
  // "replaced a, b; added c; removed d; kept e, f"
  std::string summary() const;
};

// The names a binding refers to: its entry, its exit and each route's exit.
std::vector<std::string> referencesOf(const zb::runtime::BindingEntry& binding);

ReloadPlan planReload(const zb::runtime::ZillaConfig& running,
                      const zb::runtime::ZillaConfig& next);

class ConfigReloader {
 public:
  enum class Trigger { kFileChanged, kSignal };
  enum class Outcome { kApplied, kUnchanged, kInvalid, kFailed };

  // `running` is the config the engine was built from, `text` its file's text. Declares the
  // reload counter in `metrics`. Thread: engine (before it runs).
  ConfigReloader(std::string path, std::string text, zb::runtime::ZillaConfig running,
                 std::unique_ptr<BindingPlugins> plugins, zb::runtime::Engine& engine,
                 StructuredLog& log, MetricRegistry& metrics, int64_t drain_ns);

  // Reads and checks the file; a valid change is handed to the engine thread, which applies it.
  // A file event with the text already seen does nothing (editors and ConfigMap swaps raise
  // several events for one change); SIGHUP always reloads. Thread: any (the config watcher's,
  // the signal watcher's); one reload is checked at a time.
  void reload(Trigger trigger);

 private:
  void apply(zb::runtime::ZillaConfig next, std::vector<std::shared_ptr<zb::runtime::Plugin>> types,
             const char* why);       // Thread: engine.
  void count(Outcome outcome);       // Thread: engine (the registry's metric table is its own).
  void countLater(Outcome outcome);  // Thread: any; counts on the engine thread.

  std::string path_;
  zb::runtime::Engine& engine_;
  StructuredLog& log_;
  MetricRegistry& metrics_;
  int64_t drain_ns_;
  std::array<uint32_t, 4> counters_{};

  std::mutex mutex_;  // one check at a time; guards what follows
  std::string seen_text_;
  std::unique_ptr<BindingPlugins> plugins_;

  zb::runtime::ZillaConfig running_;  // Thread: engine (after the constructor)
};

}  // namespace zb::host
