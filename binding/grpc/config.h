// The typed configuration of a `grpc` client binding, parsed once from the host's JSON.
#pragma once

#include <zb/ext/grpc_generated.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zb::grpc_binding {

// `options.tls`: file paths from the config, and the PEM text read from them at parse time, so
// that a missing file refuses the binding at start rather than failing calls later.
struct TlsOptions {
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

struct ClientOptions {
  int64_t deadline_ms = 30'000;        // 0: calls have no deadline unless BeginEx gives one
  int64_t connect_timeout_ms = 5'000;  // wait for a READY channel before RESET status 14
  std::optional<TlsOptions> tls;
  int32_t max_receive_message_size = 4 * 1024 * 1024;
};

// One `when` entry of a route: a method glob over "<service>/<method>" and exact metadata.
struct RouteCondition {
  struct Metadata {
    std::string name;
    std::string value;  // text, or the decoded bytes when `binary`
    bool binary = false;
  };
  std::string method;  // empty: any
  std::vector<Metadata> metadata;

  bool matches(std::string_view service, std::string_view method,
               const flatbuffers::Vector<flatbuffers::Offset<zb::grpc::Metadata>>* metadata) const;
};

struct Route {
  std::vector<RouteCondition> when;  // empty: every call
  std::string exit;                  // accepted and ignored: this binding is the last hop
};

struct ClientConfig {
  ClientOptions options;
  std::vector<Route> routes;

  // Parses `options` and `routes` JSON (already schema-validated by the host; checked again
  // here). Returns nothing with `error` set when they are not usable.
  static std::optional<ClientConfig> parse(std::string_view options_json,
                                           std::string_view routes_json, std::string& error);

  // A call is accepted when no route has conditions, or one route's condition matches.
  bool accepts(std::string_view service, std::string_view method,
               const flatbuffers::Vector<flatbuffers::Offset<zb::grpc::Metadata>>* metadata) const;
};

// Parses "30s", "500ms", "2m", "1h" or a bare number of milliseconds. Nothing when malformed.
std::optional<int64_t> parseDurationMs(std::string_view text);

// True when `text` matches `pattern`, where '*' matches any run of characters.
bool globMatches(std::string_view pattern, std::string_view text);

}  // namespace zb::grpc_binding
