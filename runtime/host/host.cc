#include "host.h"

#include "binding_plugins.h"
#include "config_check.h"
#include "config_reload.h"
#include "config_watcher.h"
#include "metric_registry.h"
#include "metrics_http_server.h"
#include "stop_signals.h"
#include "structured_log.h"

#include <zb/runtime/engine.h>
#include <zb/runtime/zilla_config.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace zb::host {

namespace {

// zilla.yaml read, loaded and validated, with the plugins of the types it uses.
struct Prepared {
  int exit_code = kExitOk;
  std::string text;
  zb::runtime::ConfigDocument document;
  zb::runtime::ZillaConfig config;
  std::unique_ptr<BindingPlugins> plugins;
};

void printProblems(std::FILE* err, const std::string& file,
                   const std::vector<zb::runtime::ConfigProblem>& problems) {
  for (const zb::runtime::ConfigProblem& problem : problems) {
    std::fprintf(err, "%s\n", zb::runtime::formatProblem(file, problem).c_str());
  }
}

constexpr auto kRepeatedSignalWindow = std::chrono::milliseconds(250);

std::string durationText(int64_t ns) {
  if (ns % 1'000'000'000 == 0) {
    return std::to_string(ns / 1'000'000'000) + "s";
  }
  return std::to_string(ns / 1'000'000) + "ms";
}

Prepared prepare(const CommandLine& line, std::FILE* err) {
  Prepared prepared;
  std::string error;
  if (!readConfigFile(line.config_path, prepared.text, error)) {
    std::fprintf(err, "%s: cannot read: %s\n", line.config_path.c_str(), error.c_str());
    prepared.exit_code = kExitInvalidConfig;
    return prepared;
  }
  const char* plugin_path = std::getenv("ZILLA_PLUGIN_PATH");
  prepared.plugins = std::make_unique<BindingPlugins>(
      pluginDirectories(line.plugin_dirs, plugin_path, executableDirectory()));
  BindingPlugins& plugins = *prepared.plugins;
  CheckedConfig checked = checkConfigText(prepared.text, plugins);
  if (checked.schema_unusable) {
    std::fprintf(err, "zilla-host: %s\n", checked.problems.front().message.c_str());
    prepared.exit_code = kExitRuntime;
    return prepared;
  }
  for (const std::string& warning : plugins.warnings()) {
    std::fprintf(err, "warning: %s\n", warning.c_str());
  }
  if (!checked.problems.empty()) {
    printProblems(err, line.config_path, checked.problems);
    prepared.exit_code = plugins.loadFailed() ? kExitPluginLoad : kExitInvalidConfig;
    return prepared;
  }
  prepared.document = std::move(checked.document);
  prepared.config = std::move(checked.config);
  return prepared;
}

}  // namespace

int runValidate(const CommandLine& line, std::FILE* out, std::FILE* err) {
  const Prepared prepared = prepare(line, err);
  if (prepared.exit_code == kExitOk) {
    std::fprintf(out, "%s is valid\n", line.config_path.c_str());
  }
  return prepared.exit_code;
}

int runStart(const CommandLine& line, std::FILE* out, std::FILE* err) {
  Prepared prepared = prepare(line, err);
  if (prepared.exit_code != kExitOk) {
    return prepared.exit_code;
  }
  const zb::runtime::ZillaConfig& config = prepared.config;

  StructuredLog log(out, line.log_level, line.log_format);
  std::vector<std::string> secrets;
  for (const auto& [name, value] : prepared.document.substitutions) {
    if (looksSecret(name)) {
      secrets.push_back(value);
    }
  }
  log.setSecrets(std::move(secrets));
  log.info(versionText().substr(0, versionText().size() - 1) + " starting: namespace " +
           config.namespace_name + ", " + std::to_string(config.bindings.size()) +
           " bindings, config " + line.config_path);
  for (const std::string& warning : prepared.plugins->warnings()) {
    log.warn(warning);
  }
  for (const std::string& section : config.ignored_sections) {
    log.warn("\"" + section + "\" is accepted but not used by this host");
  }

  // Telemetry first: a taken port is found before any binding starts.
  MetricRegistry metrics(config.namespace_name);
  std::vector<std::unique_ptr<MetricsHttpServer>> servers;
  for (const zb::runtime::PrometheusEndpoint& endpoint : config.telemetry.prometheus) {
    auto server = std::make_unique<MetricsHttpServer>(metrics, endpoint.path);
    std::string error;
    if (!server->listen(endpoint.port, error)) {
      log.error("prometheus exporter " + endpoint.exporter + ": " + error);
      return kExitRuntime;
    }
    log.info("prometheus exporter " + endpoint.exporter +
             " serving http://0.0.0.0:" + std::to_string(server->port()) + endpoint.path);
    servers.push_back(std::move(server));
  }
  for (const std::string& name : config.telemetry.stdout_exporters) {
    log.debug("stdout exporter " + name + ": events are logged to stdout");
  }

  try {
    zb::runtime::Engine engine(log, &metrics);
    std::string error;
    std::set<std::string> added;
    for (const zb::runtime::BindingEntry& binding : config.bindings) {
      if (added.insert(binding.type).second &&
          !engine.addType(prepared.plugins->plugin(binding.type), error)) {
        log.error("binding type " + binding.type + ": " + error);
        return kExitRuntime;
      }
    }
    for (const zb::runtime::BindingEntry& binding : config.bindings) {
      const zb::runtime::BindingDeclaration declaration =
          zb::runtime::declarationOf(config, binding);
      if (engine.declare(declaration, error) == 0) {
        log.error("binding " + binding.name + ": " + error);
        return kExitRuntime;
      }
    }
    if (!engine.create(error)) {
      log.error("cannot create the bindings: " + error);
      return kExitRuntime;
    }

    ConfigReloader reloader(line.config_path, std::move(prepared.text), config,
                            std::move(prepared.plugins), engine, log, metrics,
                            line.drain_timeout_ns);

    // Some supervisors (GNU timeout, for one) deliver one stop twice, to the process and to its
    // group, within microseconds: repeats that close to the first are the same request.
    std::chrono::steady_clock::time_point first_signal;
    StopSignals signals([&engine, &log, &line, &first_signal, &reloader](int signo, int count) {
      if (signo == SIGHUP) {
        log.info("SIGHUP: reloading " + line.config_path);
        reloader.reload(ConfigReloader::Trigger::kSignal);
        return;
      }
      const char* name = signo == SIGINT ? "SIGINT" : "SIGTERM";
      const auto now = std::chrono::steady_clock::now();
      if (count == 1) {
        first_signal = now;
        log.info(std::string(name) + ": stopping; in-flight work may take up to " +
                 durationText(line.drain_timeout_ns) + "; send it again to exit at once");
        engine.requestStop();
        return;
      }
      if (now - first_signal < kRepeatedSignalWindow) {
        log.debug(std::string(name) + " repeated at once: taken as the same stop request");
        return;
      }
      log.warn(std::string(name) + " again: exiting now without draining");
      std::fflush(nullptr);
      _exit(128 + signo);
    });
    if (!signals.ok()) {
      log.error(std::string("cannot watch signals: ") + std::strerror(errno));
      return kExitRuntime;
    }
    for (auto& server : servers) {
      server->start();
    }
    engine.start();
    std::unique_ptr<ConfigWatcher> watcher;
    if (line.watch_config) {
      watcher = std::make_unique<ConfigWatcher>(line.config_path, [&reloader] {
        reloader.reload(ConfigReloader::Trigger::kFileChanged);
      });
      if (watcher->ok()) {
        log.debug("watching " + watcher->folder() + " for changes of " + line.config_path);
      } else {
        log.warn("cannot watch the config for changes (" + watcher->error() +
                 "); SIGHUP still reloads it");
      }
    }
    log.info("started " + std::to_string(config.bindings.size()) + " bindings");
    engine.run(line.drain_timeout_ns);
    watcher.reset();
    for (auto& server : servers) {
      server->stop();
    }
    log.info("stopped");
  } catch (const std::exception& e) {
    log.error(std::string("runtime failure: ") + e.what());
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace zb::host
