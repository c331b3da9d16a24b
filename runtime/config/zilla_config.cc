// The checks of zilla.yaml that span schemas (root, then each binding's own type) and names,
// and the typed view the host builds its engine from.
#include <zb/runtime/zilla_config.h>

#include <algorithm>
#include <map>
#include <set>

namespace zb::runtime {
namespace {

bool hasProblemAt(const std::vector<ConfigProblem>& problems, const std::string& pointer) {
  return std::any_of(problems.begin(), problems.end(), [&](const ConfigProblem& problem) {
    return problem.pointer == pointer ||
           (problem.pointer.size() > pointer.size() &&
            problem.pointer.compare(0, pointer.size(), pointer) == 0 &&
            problem.pointer[pointer.size()] == '/');
  });
}

// object[key], or null when `object` is not an object (jsoncpp asserts on other types).
const Json::Value& member(const Json::Value& object, const char* key) {
  return object.isObject() ? object[key] : Json::Value::nullSingleton();
}

std::string stringAt(const Json::Value& object, const char* key) {
  const Json::Value& value = member(object, key);
  return value.isString() ? value.asString() : std::string();
}

// `text`, a value read from the document, as a problem may quote it: every part that came from
// a ${{env.NAME}} substitution is shown as that placeholder, never as its (maybe secret) value.
std::string shownValue(const ConfigDocument& document, std::string text) {
  std::vector<const std::pair<std::string, std::string>*> substitutions;
  for (const auto& substitution : document.substitutions) {
    if (!substitution.second.empty()) {
      substitutions.push_back(&substitution);
    }
  }
  // Longest first, so a value containing another is replaced whole.
  std::stable_sort(substitutions.begin(), substitutions.end(), [](const auto* a, const auto* b) {
    return a->second.size() > b->second.size();
  });
  for (const auto* substitution : substitutions) {
    const std::string placeholder = "${{env." + substitution->first + "}}";
    for (size_t at = text.find(substitution->second); at != std::string::npos;
         at = text.find(substitution->second, at + placeholder.size())) {
      text.replace(at, substitution->second.size(), placeholder);
    }
  }
  return text;
}

// `message` quotes `value`: the same message with `value` shown as shownValue shows it.
std::string withValueShown(const ConfigDocument& document, std::string message,
                           const std::string& value) {
  const std::string shown = shownValue(document, value);
  if (shown == value || value.empty()) {
    return message;
  }
  for (size_t at = message.find(value); at != std::string::npos;
       at = message.find(value, at + shown.size())) {
    message.replace(at, value.size(), shown);
  }
  return message;
}

// The names `entry`, `exit` and every route's `exit` use must be declared bindings.
void checkNames(const ConfigDocument& document, std::vector<ConfigProblem>& problems) {
  const Json::Value& bindings = member(document.root, "bindings");
  if (!bindings.isObject()) {
    return;
  }
  auto check = [&](const Json::Value& name, const std::string& pointer, const char* role) {
    if (name.isString() && !bindings.isMember(name.asString())) {
      problems.push_back({pointer, std::string(role) + " \"" +
                                       shownValue(document, name.asString()) +
                                       "\" is not a declared binding"});
    }
  };
  for (const std::string& name : document.keysOf("/bindings", bindings)) {
    const Json::Value& binding = bindings[name];
    if (!binding.isObject()) {
      continue;
    }
    const std::string pointer = appendPointer("/bindings", name);
    check(member(binding, "entry"), pointer + "/entry", "entry");
    check(member(binding, "exit"), pointer + "/exit", "exit");
    const Json::Value& routes = member(binding, "routes");
    if (!routes.isArray()) {
      continue;
    }
    for (Json::ArrayIndex i = 0; i < routes.size(); ++i) {
      if (routes[i].isObject()) {
        check(member(routes[i], "exit"), pointer + "/routes/" + std::to_string(i) + "/exit",
              "exit");
      }
    }
  }
}

}  // namespace

std::vector<ConfigProblem> validateZillaConfig(const ConfigDocument& document,
                                               const SchemaValidator& root,
                                               const BindingSchemaLookup& binding_schema) {
  std::vector<ConfigProblem> problems = root.validate(document.root);

  const Json::Value& bindings = member(document.root, "bindings");
  if (bindings.isObject()) {
    for (const std::string& name : document.keysOf("/bindings", bindings)) {
      const Json::Value& binding = bindings[name];
      const std::string pointer = appendPointer("/bindings", name);
      const std::string type_pointer = pointer + "/type";
      if (!binding.isObject() || !member(binding, "type").isString() ||
          hasProblemAt(problems, type_pointer)) {
        continue;  // the root schema already says what is wrong with it
      }
      std::string message;
      const std::string type = member(binding, "type").asString();
      const SchemaValidator* schema = binding_schema(type, message);
      if (schema == nullptr) {
        problems.push_back({type_pointer, withValueShown(document, message, type)});
        continue;
      }
      for (ConfigProblem& problem : schema->validate(binding)) {
        problem.pointer = pointer + problem.pointer;
        problems.push_back(std::move(problem));
      }
    }
  }

  checkNames(document, problems);

  // The root schema and a binding's schema may say the same thing about the same field, the
  // binding's with more detail ("(allowed: ...)" lists its own properties): keep the last.
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<ConfigProblem> unique;
  for (auto it = problems.rbegin(); it != problems.rend(); ++it) {
    const std::string core = it->message.substr(0, it->message.find(" ("));
    if (seen.emplace(it->pointer, core).second) {
      unique.push_back(std::move(*it));
    }
  }
  problems.assign(std::make_move_iterator(unique.rbegin()), std::make_move_iterator(unique.rend()));
  document.locate(problems);
  std::stable_sort(problems.begin(), problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) {
                     const bool a_known = a.line > 0;
                     const bool b_known = b.line > 0;
                     if (a_known != b_known) {
                       return a_known;
                     }
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return problems;
}

ZillaConfig readZillaConfig(const ConfigDocument& document) {
  ZillaConfig config;
  const Json::Value& root = document.root;
  config.namespace_name = stringAt(root, "name");

  const Json::Value& bindings = member(root, "bindings");
  for (const std::string& name : document.keysOf("/bindings", bindings)) {
    const Json::Value& binding = bindings[name];
    BindingEntry entry;
    entry.name = name;
    entry.type = stringAt(binding, "type");
    entry.kind = stringAt(binding, "kind");
    entry.entry = stringAt(binding, "entry");
    entry.exit = stringAt(binding, "exit");
    if (!member(binding, "options").isNull()) {
      entry.options_json = toJsonText(binding["options"]);
    }
    if (!member(binding, "routes").isNull()) {
      entry.routes_json = toJsonText(binding["routes"]);
    }
    entry.binding_json = toJsonText(binding);
    config.bindings.push_back(std::move(entry));
  }

  const Json::Value& exporters = member(member(root, "telemetry"), "exporters");
  for (const std::string& name : document.keysOf("/telemetry/exporters", exporters)) {
    const Json::Value& exporter = exporters[name];
    const std::string type = stringAt(exporter, "type");
    if (type == "stdout") {
      config.telemetry.stdout_exporters.push_back(name);
    } else if (type == "prometheus") {
      for (const Json::Value& endpoint : member(member(exporter, "options"), "endpoints")) {
        PrometheusEndpoint prometheus;
        prometheus.exporter = name;
        if (member(endpoint, "path").isString()) {
          prometheus.path = member(endpoint, "path").asString();
        }
        prometheus.port = member(endpoint, "port").asInt();
        config.telemetry.prometheus.push_back(std::move(prometheus));
      }
    }
  }

  for (const char* section : {"guards", "vaults", "catalogs"}) {
    if (root.isObject() && root.isMember(section)) {
      config.ignored_sections.emplace_back(section);
    }
  }
  return config;
}

}  // namespace zb::runtime
