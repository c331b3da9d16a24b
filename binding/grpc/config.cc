#include "config.h"

#include "base64.h"

#include <json/json.h>

#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>

namespace zb::grpc_binding {
namespace {

bool parseJson(std::string_view text, Json::Value& root, std::string& error) {
  Json::CharReaderBuilder builder;
  const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string reason;
  if (!reader->parse(text.data(), text.data() + text.size(), &root, &reason)) {
    error = reason;
    return false;
  }
  return true;
}

bool readFile(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream out;
  out << in.rdbuf();
  text = out.str();
  return true;
}

bool durationOf(const Json::Value& value, const char* name, int64_t& ms, std::string& error) {
  if (value.isNull()) {
    return true;
  }
  std::optional<int64_t> parsed;
  if (value.isIntegral() && value.asInt64() >= 0) {
    parsed = value.asInt64();
  } else if (value.isString()) {
    parsed = parseDurationMs(value.asString());
  }
  if (!parsed) {
    error = std::string("options.") + name + ": expected a duration such as \"5s\" or \"250ms\"";
    return false;
  }
  ms = *parsed;
  return true;
}

bool parseTls(const Json::Value& tls, TlsOptions& out, std::string& error) {
  if (!tls.isObject()) {
    error = "options.tls: expected an object";
    return false;
  }
  out.ca = tls.get("ca", "").asString();
  out.cert = tls.get("cert", "").asString();
  out.key = tls.get("key", "").asString();
  out.server_name = tls.get("server-name", "").asString();
  if (out.cert.empty() != out.key.empty()) {
    error = "options.tls: cert and key go together";
    return false;
  }
  const struct {
    const std::string& path;
    std::string& pem;
    const char* field;
  } files[] = {
      {out.ca, out.ca_pem, "ca"}, {out.cert, out.cert_pem, "cert"}, {out.key, out.key_pem, "key"}};
  for (const auto& file : files) {
    if (!file.path.empty() && !readFile(file.path, file.pem)) {
      error = std::string("options.tls.") + file.field + ": cannot read " + file.path;
      return false;
    }
  }
  return true;
}

bool parseOptions(const Json::Value& options, ClientOptions& out, std::string& error) {
  if (options.isNull()) {
    return true;
  }
  if (!options.isObject()) {
    error = "options: expected an object";
    return false;
  }
  if (!durationOf(options["deadline"], "deadline", out.deadline_ms, error) ||
      !durationOf(options["connect-timeout"], "connect-timeout", out.connect_timeout_ms, error)) {
    return false;
  }
  if (options.isMember("tls")) {
    out.tls.emplace();
    if (!parseTls(options["tls"], *out.tls, error)) {
      return false;
    }
  }
  const Json::Value& size = options["max-receive-message-size"];
  if (!size.isNull()) {
    if (!size.isIntegral() || size.asInt64() < 1 || size.asInt64() > INT32_MAX) {
      error = "options.max-receive-message-size: expected a positive integer";
      return false;
    }
    out.max_receive_message_size = static_cast<int32_t>(size.asInt64());
  }
  return true;
}

bool parseCondition(const Json::Value& when, RouteCondition& out, std::string& error) {
  if (!when.isObject()) {
    error = "routes[].when[]: expected an object";
    return false;
  }
  out.method = when.get("method", "").asString();
  if (!out.method.empty() && out.method.find('/') == std::string::npos) {
    error = "routes[].when[].method: expected <service>/<method>";
    return false;
  }
  const Json::Value& metadata = when["metadata"];
  if (metadata.isNull()) {
    return true;
  }
  if (!metadata.isObject()) {
    error = "routes[].when[].metadata: expected an object";
    return false;
  }
  for (const std::string& name : metadata.getMemberNames()) {
    const Json::Value& value = metadata[name];
    RouteCondition::Metadata entry{name, {}, false};
    if (value.isString()) {
      entry.value = value.asString();
    } else if (value.isObject() && value["base64"].isString()) {
      entry.binary = true;
      if (!decodeBase64(value["base64"].asString(), entry.value)) {
        error = "routes[].when[].metadata." + name + ".base64: not base64";
        return false;
      }
    } else {
      error = "routes[].when[].metadata." + name + ": expected a string or {base64: ...}";
      return false;
    }
    out.metadata.push_back(std::move(entry));
  }
  return true;
}

bool parseRoutes(const Json::Value& routes, std::vector<Route>& out, std::string& error) {
  if (routes.isNull()) {
    return true;
  }
  if (!routes.isArray()) {
    error = "routes: expected an array";
    return false;
  }
  for (const Json::Value& route : routes) {
    if (!route.isObject()) {
      error = "routes[]: expected an object";
      return false;
    }
    Route parsed;
    parsed.exit = route.get("exit", "").asString();
    for (const Json::Value& when : route["when"]) {
      parsed.when.emplace_back();
      if (!parseCondition(when, parsed.when.back(), error)) {
        return false;
      }
    }
    out.push_back(std::move(parsed));
  }
  return true;
}

}  // namespace

std::optional<int64_t> parseDurationMs(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || value < 0 || rest == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit(rest, static_cast<size_t>(end - rest));
  int64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1'000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  if (value > INT64_MAX / scale / 1'000'000) {  // keep room for nanoseconds
    return std::nullopt;
  }
  return value * scale;
}

bool globMatches(std::string_view pattern, std::string_view text) {
  // Iterative wildcard matching with one backtrack point: linear in practice.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

bool RouteCondition::matches(
    std::string_view service, std::string_view method,
    const flatbuffers::Vector<flatbuffers::Offset<zb::grpc::Metadata>>* metadata) const {
  if (!this->method.empty()) {
    const size_t slash = this->method.find('/');
    const std::string_view pattern(this->method);
    if (!globMatches(pattern.substr(0, slash), service) ||
        !globMatches(pattern.substr(slash + 1), method)) {
      return false;
    }
  }
  std::string decoded;
  for (const Metadata& wanted : this->metadata) {
    bool found = false;
    if (metadata != nullptr) {
      for (const zb::grpc::Metadata* entry : *metadata) {
        const auto* name = entry->name();
        const auto* value = entry->value();
        const std::string_view name_text =
            name != nullptr
                ? std::string_view(reinterpret_cast<const char*>(name->data()), name->size())
                : std::string_view();
        const std::string_view value_text =
            value != nullptr
                ? std::string_view(reinterpret_cast<const char*>(value->data()), value->size())
                : std::string_view();
        if (name_text != wanted.name) {
          continue;
        }
        const bool binary = entry->type() == zb::grpc::MetadataType::BASE64;
        if (binary != wanted.binary) {
          continue;
        }
        if (!binary) {
          found = value_text == wanted.value;
        } else {
          decoded.clear();
          found = decodeBase64(value_text, decoded) && decoded == wanted.value;
        }
        if (found) {
          break;
        }
      }
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

std::optional<ClientConfig> ClientConfig::parse(std::string_view options_json,
                                                std::string_view routes_json, std::string& error) {
  Json::Value options;
  Json::Value routes;
  if (!parseJson(options_json.empty() ? "{}" : options_json, options, error)) {
    error = "options: " + error;
    return std::nullopt;
  }
  if (!parseJson(routes_json.empty() ? "[]" : routes_json, routes, error)) {
    error = "routes: " + error;
    return std::nullopt;
  }
  ClientConfig config;
  if (!parseOptions(options, config.options, error) || !parseRoutes(routes, config.routes, error)) {
    return std::nullopt;
  }
  return config;
}

bool ClientConfig::accepts(
    std::string_view service, std::string_view method,
    const flatbuffers::Vector<flatbuffers::Offset<zb::grpc::Metadata>>* metadata) const {
  bool any_condition = false;
  for (const Route& route : routes) {
    if (route.when.empty()) {
      return true;
    }
    any_condition = true;
    for (const RouteCondition& condition : route.when) {
      if (condition.matches(service, method, metadata)) {
        return true;
      }
    }
  }
  return !any_condition;
}

}  // namespace zb::grpc_binding
