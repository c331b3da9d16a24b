#include "config_reload.h"

#include "config_check.h"

#include <json/reader.h>
#include <json/value.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace zb::host {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) {
    text += (text.empty() ? "" : ", ") + name;
  }
  return text;
}

bool sameDeclaration(const zb::runtime::BindingEntry& a, const zb::runtime::BindingEntry& b) {
  // binding_json is the whole entry, so it covers type, kind, entry, exit, options and routes.
  return a.binding_json == b.binding_json && a.type == b.type && a.kind == b.kind &&
         a.entry == b.entry && a.exit == b.exit && a.options_json == b.options_json &&
         a.routes_json == b.routes_json;
}

const char* triggerName(ConfigReloader::Trigger trigger) {
  return trigger == ConfigReloader::Trigger::kSignal ? "SIGHUP" : "the file changed";
}

}  // namespace

std::string ReloadPlan::summary() const {
  std::vector<std::string> parts;
  if (!replaced.empty()) parts.push_back("replaced " + joined(replaced));
  if (!added.empty()) parts.push_back("added " + joined(added));
  if (!removed.empty()) parts.push_back("removed " + joined(removed));
  if (!kept.empty()) parts.push_back("kept " + joined(kept));
  std::string text;
  for (const std::string& part : parts) {
    text += (text.empty() ? "" : "; ") + part;
  }
  return text;
}

std::vector<std::string> referencesOf(const zb::runtime::BindingEntry& binding) {
  std::vector<std::string> names;
  if (!binding.entry.empty()) names.push_back(binding.entry);
  if (!binding.exit.empty()) names.push_back(binding.exit);
  Json::Value routes;
  Json::CharReaderBuilder builder;
  std::istringstream in(binding.routes_json);
  std::string errors;
  if (Json::parseFromStream(builder, in, &routes, &errors) && routes.isArray()) {
    for (const Json::Value& route : routes) {
      if (route.isObject() && route["exit"].isString()) {
        names.push_back(route["exit"].asString());
      }
    }
  }
  return names;
}

ReloadPlan planReload(const zb::runtime::ZillaConfig& running,
                      const zb::runtime::ZillaConfig& next) {
  ReloadPlan plan;
  std::map<std::string, const zb::runtime::BindingEntry*> before;
  for (const zb::runtime::BindingEntry& binding : running.bindings) {
    before.emplace(binding.name, &binding);
  }
  const bool namespace_changed = running.namespace_name != next.namespace_name;
  std::set<std::string> renewed;  // added or replaced
  for (const zb::runtime::BindingEntry& binding : next.bindings) {
    auto it = before.find(binding.name);
    if (it == before.end() || namespace_changed || !sameDeclaration(*it->second, binding)) {
      renewed.insert(binding.name);
    }
  }
  // A kept binding holds the ids of the bindings it names: when one of them is renewed, it must
  // be renewed too, to reach the new instance. Until nothing more changes.
  for (bool grew = true; grew;) {
    grew = false;
    for (const zb::runtime::BindingEntry& binding : next.bindings) {
      if (renewed.count(binding.name) != 0) {
        continue;
      }
      for (const std::string& name : referencesOf(binding)) {
        if (renewed.count(name) != 0) {
          renewed.insert(binding.name);
          grew = true;
          break;
        }
      }
    }
  }
  std::set<std::string> next_names;
  for (const zb::runtime::BindingEntry& binding : next.bindings) {
    next_names.insert(binding.name);
    if (renewed.count(binding.name) == 0) {
      plan.kept.push_back(binding.name);
      continue;
    }
    plan.fresh.push_back(zb::runtime::declarationOf(next, binding));
    (before.count(binding.name) != 0 ? plan.replaced : plan.added).push_back(binding.name);
  }
  for (const zb::runtime::BindingEntry& binding : running.bindings) {
    if (next_names.count(binding.name) == 0) {
      plan.removed.push_back(binding.name);
    }
  }
  const auto& a = running.telemetry;
  const auto& b = next.telemetry;
  plan.telemetry_changed =
      a.stdout_exporters != b.stdout_exporters || a.prometheus.size() != b.prometheus.size() ||
      !std::equal(a.prometheus.begin(), a.prometheus.end(), b.prometheus.begin(),
                  [](const auto& x, const auto& y) {
                    return x.exporter == y.exporter && x.path == y.path && x.port == y.port;
                  });
  return plan;
}

ConfigReloader::ConfigReloader(std::string path, std::string text, zb::runtime::ZillaConfig running,
                               std::unique_ptr<BindingPlugins> plugins, zb::runtime::Engine& engine,
                               StructuredLog& log, MetricRegistry& metrics, int64_t drain_ns)
    : path_(std::move(path)),
      engine_(engine),
      log_(log),
      metrics_(metrics),
      drain_ns_(drain_ns),
      seen_text_(std::move(text)),
      plugins_(std::move(plugins)),
      running_(std::move(running)) {
  static const char* const kOutcomes[] = {"applied", "unchanged", "invalid", "failed"};
  for (size_t i = 0; i < counters_.size(); ++i) {
    counters_[i] = metrics_.declare(ZB_METRIC_COUNTER, "zilla-host", "zilla_host.config.reloads",
                                    std::string("outcome=\"") + kOutcomes[i] + "\"");
  }
}

void ConfigReloader::count(Outcome outcome) {
  metrics_.record(counters_[static_cast<size_t>(outcome)], 1);
}

void ConfigReloader::countLater(Outcome outcome) {
  engine_.post([this, outcome] { count(outcome); });
}

void ConfigReloader::reload(Trigger trigger) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text;
  std::string error;
  if (!readConfigFile(path_, text, error)) {
    if (trigger == Trigger::kSignal) {
      log_.error("reload (SIGHUP) refused: " + path_ + ": cannot read: " + error +
                 "; the running config stays");
      countLater(Outcome::kInvalid);
    }
    // A file being replaced can be missing for a moment; its next event says when it is back.
    return;
  }
  if (trigger == Trigger::kFileChanged && text == seen_text_) {
    return;
  }
  seen_text_ = text;
  const char* why = triggerName(trigger);
  CheckedConfig checked = checkConfigText(text, *plugins_);
  if (!checked.problems.empty()) {
    log_.error(std::string("reload (") + why + ") refused, the running config stays: " +
               std::to_string(checked.problems.size()) + " problem(s) in " + path_);
    for (const zb::runtime::ConfigProblem& problem : checked.problems) {
      log_.error(zb::runtime::formatProblem(path_, problem));
    }
    countLater(Outcome::kInvalid);
    return;
  }
  // The plugins of every type, found here on the control side (a new type is loaded now).
  std::vector<std::shared_ptr<zb::runtime::Plugin>> types;
  for (const zb::runtime::BindingEntry& binding : checked.config.bindings) {
    if (std::shared_ptr<zb::runtime::Plugin> plugin = plugins_->plugin(binding.type)) {
      types.push_back(std::move(plugin));
    }
  }
  zb::runtime::ZillaConfig next = std::move(checked.config);
  const bool posted =
      engine_.post([this, next = std::move(next), types = std::move(types), why]() mutable {
        apply(std::move(next), std::move(types), why);
      });
  if (!posted) {
    log_.info(std::string("reload (") + why + ") not applied: the host is stopping");
  }
}

void ConfigReloader::apply(zb::runtime::ZillaConfig next,
                           std::vector<std::shared_ptr<zb::runtime::Plugin>> types,
                           const char* why) {
  const ReloadPlan plan = planReload(running_, next);
  if (plan.telemetry_changed) {
    log_.warn("reload: the telemetry section changed; it applies at the next start");
  }
  if (!plan.changesBindings()) {
    log_.info(std::string("reload (") + why + "): no binding changed");
    count(Outcome::kUnchanged);
    running_ = std::move(next);
    return;
  }
  std::string error;
  for (std::shared_ptr<zb::runtime::Plugin>& plugin : types) {
    if (engine_.typeApi(plugin->api()->type_name) == nullptr &&
        !engine_.addType(std::move(plugin), error)) {
      log_.error("reload (" + std::string(why) + ") failed, the running config stays: " + error);
      count(Outcome::kFailed);
      return;
    }
  }
  if (!engine_.replace(plan.fresh, plan.removed, drain_ns_, error)) {
    log_.error("reload (" + std::string(why) + ") failed, the running config stays: " + error);
    count(Outcome::kFailed);
    return;
  }
  log_.info("reload (" + std::string(why) + ") applied: " + plan.summary());
  count(Outcome::kApplied);
  running_ = std::move(next);
}

}  // namespace zb::host
