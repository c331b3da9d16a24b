// Typed configuration of one kafka-grpc binding, parsed once from the host's validated JSON.
//
// Parsing never trusts that validation ran: every field is checked again, and a problem is
// reported as "<JSON pointer>: <what was expected>", the same shape the host's validator uses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::kafka_grpc {

// Kafka's acks, with the values of the kafka extension's AckMode.
enum class AckMode : int16_t { kInSyncReplicas = -1, kNone = 0, kLeaderOnly = 1 };

// Names of the record headers that carry the request's routing.
struct CorrelationHeaders {
  std::string service = "zilla:service";
  std::string method = "zilla:method";
  std::string correlation_id = "zilla:correlation-id";
  std::string reply_to = "zilla:reply-to";
};

// Retry of calls refused as UNAVAILABLE, in gRPC retry-policy terms; also the backoff of fetch
// stream reopening.
struct RetryPolicy {
  uint32_t max_attempts = 5;
  int64_t initial_backoff_ns = 1'000'000'000;
  int64_t max_backoff_ns = 30'000'000'000;
  double backoff_multiplier = 2.0;
  double jitter = 0.2;
};

struct Options {
  AckMode acks = AckMode::kInSyncReplicas;
  std::string idempotency_metadata = "idempotency-key";
  CorrelationHeaders correlation;
  std::string group_id;  // "zilla:<namespace>-<binding name>" unless configured
  RetryPolicy retry;
  int64_t deadline_ns = 0;  // 0: none
  uint32_t max_in_flight = 64;
  std::string dead_letter_topic;  // empty: none
  // The largest HTTP/2 header list a call may send (see RequestHeaders::headerListSize): gRPC's
  // own default limit, above which a peer drops the whole connection, every call on it included.
  uint32_t max_metadata_size = 8192;
};

// One `when` of a route: the fetch stream it opens and the filter it asks the kafka binding for.
struct Condition {
  std::string topic;
  std::string reply_to;
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> headers;
  // From `method` "Service/Method" or "Service/*"; both empty when absent or not of that shape.
  std::string service;
  std::string method;  // "*": any method of the service

  bool filtersService() const { return !service.empty(); }
  bool filtersMethod() const { return !method.empty() && method != "*"; }
};

struct Route {
  std::string exit;
  uint64_t exit_id = 0;
  std::vector<Condition> when;
  std::string scheme;
  std::string authority;
};

struct Config {
  Options options;
  std::vector<Route> routes;
};

// Resolves a binding name to its id (0: no such binding).
using BindingResolver = std::function<uint64_t(const std::string& name)>;

// Parses `options_json` and `routes_json`. On failure returns nullopt with `error` set to
// "<pointer>: <message>" (pointers relative to the binding entry, e.g. "/routes/0/exit").
std::optional<Config> parseConfig(std::string_view options_json, std::string_view routes_json,
                                  std::string_view namespace_name, std::string_view binding_name,
                                  const BindingResolver& resolve, std::string& error);

// "100ms", "1.5s", "2m", "1h" to nanoseconds; nullopt when malformed.
std::optional<int64_t> parseDuration(std::string_view text);

// Splits "Service/Method" as Zilla does (full match of ^([^/]+)/([^/]+)$); false otherwise.
bool splitMethod(std::string_view text, std::string& service, std::string& method);

// The Kafka extension's name for the mode, e.g. "leader_only".
std::string_view ackModeName(AckMode mode);

}  // namespace zb::kafka_grpc
