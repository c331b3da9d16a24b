#include "config.h"

#include <json/json.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace zb::kafka_grpc {
namespace {

bool parseJson(std::string_view text, Json::Value& out, std::string& error) {
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string errors;
  if (!reader->parse(text.data(), text.data() + text.size(), &out, &errors)) {
    error = errors;
    return false;
  }
  return true;
}

// Reads an optional string member; false (with error) when present but not a string.
bool readString(const Json::Value& object, const char* name, const std::string& pointer,
                std::string& out, std::string& error) {
  if (!object.isMember(name)) {
    return true;
  }
  const Json::Value& value = object[name];
  if (!value.isString()) {
    error = pointer + "/" + name + ": expected a string";
    return false;
  }
  out = value.asString();
  return true;
}

bool readObject(const Json::Value& object, const char* name, const std::string& pointer,
                std::string& error) {
  if (object.isMember(name) && !object[name].isObject()) {
    error = pointer + "/" + name + ": expected an object";
    return false;
  }
  return true;
}

bool readDuration(const Json::Value& object, const char* name, const std::string& pointer,
                  int64_t& out, std::string& error) {
  if (!object.isMember(name)) {
    return true;
  }
  const Json::Value& value = object[name];
  const std::optional<int64_t> ns =
      value.isString() ? parseDuration(value.asString()) : std::nullopt;
  if (!ns) {
    error = pointer + "/" + name + ": expected a duration such as \"100ms\", \"1.5s\" or \"2m\"";
    return false;
  }
  out = *ns;
  return true;
}

bool readInteger(const Json::Value& object, const char* name, const std::string& pointer,
                 int64_t min, int64_t max, uint32_t& out, std::string& error) {
  if (!object.isMember(name)) {
    return true;
  }
  const Json::Value& value = object[name];
  if (!value.isIntegral() || value.asInt64() < min || value.asInt64() > max) {
    error = pointer + "/" + name + ": expected an integer from " + std::to_string(min) + " to " +
            std::to_string(max);
    return false;
  }
  out = static_cast<uint32_t>(value.asInt64());
  return true;
}

bool readNumber(const Json::Value& object, const char* name, const std::string& pointer, double min,
                double max, double& out, std::string& error) {
  if (!object.isMember(name)) {
    return true;
  }
  const Json::Value& value = object[name];
  if (!value.isNumeric() || value.asDouble() < min || value.asDouble() > max) {
    error = pointer + "/" + name + ": expected a number from " + std::to_string(min) + " to " +
            std::to_string(max);
    return false;
  }
  out = value.asDouble();
  return true;
}

bool parseOptions(const Json::Value& json, Options& options, std::string& error) {
  const std::string at = "/options";
  if (!json.isObject()) {
    error = at + ": expected an object";
    return false;
  }
  if (json.isMember("acks")) {
    const Json::Value& acks = json["acks"];
    const std::string text = acks.isString() ? acks.asString() : "";
    if (text == "none") {
      options.acks = AckMode::kNone;
    } else if (text == "leader_only") {
      options.acks = AckMode::kLeaderOnly;
    } else if (text == "in_sync_replicas") {
      options.acks = AckMode::kInSyncReplicas;
    } else {
      error = at + "/acks: expected one of none, leader_only, in_sync_replicas";
      return false;
    }
  }
  if (!readObject(json, "idempotency", at, error) ||
      !readString(json["idempotency"], "metadata", at + "/idempotency",
                  options.idempotency_metadata, error)) {
    return false;
  }
  if (!readObject(json, "correlation", at, error)) {
    return false;
  }
  const Json::Value& correlation = json["correlation"];
  if (correlation.isObject()) {
    for (const std::string& name : correlation.getMemberNames()) {
      if (name != "headers") {
        error = at + "/correlation/" + name + ": unknown property (expected headers)";
        return false;
      }
    }
    if (!readObject(correlation, "headers", at + "/correlation", error)) {
      return false;
    }
    const Json::Value& headers = correlation["headers"];
    const std::string hat = at + "/correlation/headers";
    if (headers.isObject()) {
      for (const std::string& name : headers.getMemberNames()) {
        if (name != "service" && name != "method" && name != "correlation-id" &&
            name != "reply-to") {
          error = hat + "/" + name +
                  ": unknown property (expected service, method, correlation-id or reply-to)";
          return false;
        }
      }
      CorrelationHeaders& names = options.correlation;
      if (!readString(headers, "service", hat, names.service, error) ||
          !readString(headers, "method", hat, names.method, error) ||
          !readString(headers, "correlation-id", hat, names.correlation_id, error) ||
          !readString(headers, "reply-to", hat, names.reply_to, error)) {
        return false;
      }
    }
  }
  if (!readString(json, "group-id", at, options.group_id, error)) {
    return false;
  }
  if (json.isMember("group-id") && options.group_id.empty()) {
    error = at + "/group-id: expected a non-empty string";
    return false;
  }
  if (!readObject(json, "retry", at, error)) {
    return false;
  }
  const Json::Value& retry = json["retry"];
  if (retry.isObject()) {
    const std::string rat = at + "/retry";
    for (const std::string& name : retry.getMemberNames()) {
      if (name != "max-attempts" && name != "initial-backoff" && name != "max-backoff" &&
          name != "backoff-multiplier" && name != "jitter") {
        error = rat + "/" + name + ": unknown property";
        return false;
      }
    }
    RetryPolicy& policy = options.retry;
    if (!readInteger(retry, "max-attempts", rat, 1, 1000, policy.max_attempts, error) ||
        !readDuration(retry, "initial-backoff", rat, policy.initial_backoff_ns, error) ||
        !readDuration(retry, "max-backoff", rat, policy.max_backoff_ns, error) ||
        !readNumber(retry, "backoff-multiplier", rat, 1.0, 100.0, policy.backoff_multiplier,
                    error) ||
        !readNumber(retry, "jitter", rat, 0.0, 1.0, policy.jitter, error)) {
      return false;
    }
    // A zero backoff would be a tight loop: one millisecond is the floor.
    policy.initial_backoff_ns = std::max<int64_t>(policy.initial_backoff_ns, 1'000'000);
    policy.max_backoff_ns = std::max(policy.max_backoff_ns, policy.initial_backoff_ns);
  }
  if (!readDuration(json, "deadline", at, options.deadline_ns, error) ||
      !readInteger(json, "max-in-flight", at, 1, 1000000, options.max_in_flight, error) ||
      !readInteger(json, "max-metadata-size", at, 1024, 16777216, options.max_metadata_size,
                   error) ||
      !readString(json, "dead-letter-topic", at, options.dead_letter_topic, error)) {
    return false;
  }
  if (json.isMember("dead-letter-topic") && options.dead_letter_topic.empty()) {
    error = at + "/dead-letter-topic: expected a non-empty string";
    return false;
  }
  return true;
}

bool parseCondition(const Json::Value& json, const std::string& at, Condition& condition,
                    std::string& error) {
  if (!json.isObject()) {
    error = at + ": expected an object";
    return false;
  }
  for (const std::string& name : json.getMemberNames()) {
    if (name != "topic" && name != "key" && name != "headers" && name != "reply-to" &&
        name != "method") {
      error = at + "/" + name + ": unknown property";
      return false;
    }
  }
  if (!json.isMember("topic")) {
    error = at + ": missing required property topic";
    return false;
  }
  if (!json.isMember("reply-to")) {
    error = at + ": missing required property reply-to";
    return false;
  }
  if (!readString(json, "topic", at, condition.topic, error) ||
      !readString(json, "reply-to", at, condition.reply_to, error)) {
    return false;
  }
  if (json.isMember("key")) {
    std::string key;
    if (!readString(json, "key", at, key, error)) {
      return false;
    }
    condition.key = std::move(key);
  }
  if (!readObject(json, "headers", at, error)) {
    return false;
  }
  const Json::Value& headers = json["headers"];
  if (headers.isObject()) {
    for (const std::string& name : headers.getMemberNames()) {
      if (!headers[name].isString()) {
        error = at + "/headers/" + name + ": expected a string";
        return false;
      }
      condition.headers.emplace_back(name, headers[name].asString());
    }
  }
  if (json.isMember("method")) {
    std::string method;
    if (!readString(json, "method", at, method, error)) {
      return false;
    }
    // Zilla's schema only asks for a "<service>/<method>" prefix; its parser wants the whole
    // value in that shape and otherwise filters on neither. Same here.
    const size_t slash = method.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == method.size() ||
        method[slash + 1] == '/') {
      error = at + "/method: expected \"<service>/<method>\" or \"<service>/*\"";
      return false;
    }
    splitMethod(method, condition.service, condition.method);
  }
  return true;
}

bool parseRoutes(const Json::Value& json, const BindingResolver& resolve,
                 std::vector<Route>& routes, std::string& error) {
  if (!json.isArray()) {
    error = "/routes: expected an array";
    return false;
  }
  for (Json::ArrayIndex i = 0; i < json.size(); ++i) {
    const Json::Value& item = json[i];
    const std::string at = "/routes/" + std::to_string(i);
    if (!item.isObject()) {
      error = at + ": expected an object";
      return false;
    }
    for (const std::string& name : item.getMemberNames()) {
      if (name != "exit" && name != "when" && name != "with" && name != "guarded") {
        error = at + "/" + name + ": unknown property";
        return false;
      }
    }
    Route route;
    if (!item.isMember("with") || !item["with"].isObject()) {
      error = at + (item.isMember("with") ? "/with: expected an object"
                                          : ": missing required property with");
      return false;
    }
    const Json::Value& with = item["with"];
    for (const std::string& name : with.getMemberNames()) {
      if (name != "scheme" && name != "authority") {
        error = at + "/with/" + name + ": unknown property (expected scheme or authority)";
        return false;
      }
    }
    if (!with.isMember("scheme") || !with.isMember("authority")) {
      error = at + "/with: missing required property " +
              (with.isMember("scheme") ? "authority" : "scheme");
      return false;
    }
    if (!readString(with, "scheme", at + "/with", route.scheme, error) ||
        !readString(with, "authority", at + "/with", route.authority, error)) {
      return false;
    }
    if (!item.isMember("exit")) {
      error = at + ": missing exit (kafka-grpc calls the grpc binding a route exits to)";
      return false;
    }
    if (!readString(item, "exit", at, route.exit, error)) {
      return false;
    }
    route.exit_id = resolve ? resolve(route.exit) : 0;
    if (route.exit_id == 0) {
      error = at + "/exit: no binding named \"" + route.exit + "\"";
      return false;
    }
    if (item.isMember("when")) {
      const Json::Value& when = item["when"];
      if (!when.isArray()) {
        error = at + "/when: expected an array";
        return false;
      }
      for (Json::ArrayIndex j = 0; j < when.size(); ++j) {
        Condition condition;
        if (!parseCondition(when[j], at + "/when/" + std::to_string(j), condition, error)) {
          return false;
        }
        route.when.push_back(std::move(condition));
      }
    }
    routes.push_back(std::move(route));
  }
  return true;
}

}  // namespace

std::optional<int64_t> parseDuration(std::string_view text) {
  size_t i = 0;
  int64_t whole = 0;
  const size_t digits_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > 1'000'000'000'000LL) {
      return std::nullopt;
    }
    whole = whole * 10 + (text[i] - '0');
    ++i;
  }
  if (i == digits_start) {
    return std::nullopt;
  }
  double fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    double scale = 0.1;
    const size_t fraction_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      fraction += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == fraction_start) {
      return std::nullopt;
    }
  }
  const std::string_view unit = text.substr(i);
  int64_t scale_ns = 0;
  if (unit == "ms") {
    scale_ns = 1'000'000;
  } else if (unit == "s") {
    scale_ns = 1'000'000'000;
  } else if (unit == "m") {
    scale_ns = 60'000'000'000;
  } else if (unit == "h") {
    scale_ns = 3'600'000'000'000;
  } else {
    return std::nullopt;
  }
  const double ns = (static_cast<double>(whole) + fraction) * static_cast<double>(scale_ns);
  if (ns > 9.0e18) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(ns));
}

bool splitMethod(std::string_view text, std::string& service, std::string& method) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos) {
    service.clear();
    method.clear();
    return false;
  }
  service.assign(text.substr(0, slash));
  method.assign(text.substr(slash + 1));
  return true;
}

std::string_view ackModeName(AckMode mode) {
  switch (mode) {
    case AckMode::kNone:
      return "none";
    case AckMode::kLeaderOnly:
      return "leader_only";
    case AckMode::kInSyncReplicas:
      break;
  }
  return "in_sync_replicas";
}

std::optional<Config> parseConfig(std::string_view options_json, std::string_view routes_json,
                                  std::string_view namespace_name, std::string_view binding_name,
                                  const BindingResolver& resolve, std::string& error) {
  Config config;
  Json::Value options;
  Json::Value routes;
  std::string parse_error;
  if (!parseJson(options_json.empty() ? std::string_view("{}") : options_json, options,
                 parse_error)) {
    error = "/options: not JSON: " + parse_error;
    return std::nullopt;
  }
  if (!parseJson(routes_json.empty() ? std::string_view("[]") : routes_json, routes, parse_error)) {
    error = "/routes: not JSON: " + parse_error;
    return std::nullopt;
  }
  if (options.isNull()) {
    options = Json::Value(Json::objectValue);
  }
  if (!parseOptions(options, config.options, error) ||
      !parseRoutes(routes, resolve, config.routes, error)) {
    return std::nullopt;
  }
  if (config.options.group_id.empty()) {
    config.options.group_id = "zilla:";
    config.options.group_id.append(namespace_name);
    config.options.group_id.append("-");
    config.options.group_id.append(binding_name);
  }
  return config;
}

}  // namespace zb::kafka_grpc
