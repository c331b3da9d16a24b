// The zilla.yaml of the chain under test: kafka (client) -> kafka-grpc (remote_server) -> grpc
// (client), one route from a request topic to a gRPC authority. Each integration test varies only
// what ChainConfig holds, so they all run the same chain.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace zb::test {

// A suffix for topic and dir names, so that runs against a shared broker never read each
// other's records.
inline std::string uniqueSuffix() {
  std::random_device device;
  return std::to_string(device() % 1000000000u);
}

// kafka-grpc's retry options; delays in milliseconds.
struct ChainRetry {
  int max_attempts = 0;
  int initial_backoff_ms = 0;
  int max_backoff_ms = 0;
};

// A route beyond the first: requests on `requests` asking for `responses`, called at `authority`.
struct ChainRoute {
  std::string requests;
  std::string responses;
  std::string authority;
};

struct ChainConfig {
  std::string name;
  // The kafka binding's servers entry: an address, or a ${{env.NAME}} placeholder.
  std::string bootstrap;
  // librdkafka properties of the kafka binding, in this order (values are quoted strings).
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  std::string requests;
  std::string responses;
  // Where the route sends calls: host:port of the gRPC service (http).
  std::string authority;
  // kafka-grpc options; unset ones are left to the binding's defaults.
  std::string acks = "in_sync_replicas";
  std::optional<int> max_in_flight;
  std::optional<ChainRetry> retry;
  // A Prometheus exporter on an ephemeral port; zilla-host prints the address it serves.
  bool prometheus = false;
  // kafka-grpc's per-call deadline, e.g. "300ms"; unset: none.
  std::optional<std::string> deadline;
  // Routes after the first one, in order.
  std::vector<ChainRoute> more_routes;
};

// Writes `yaml` to `dir`/zilla.yaml (see writeChainConfig); returns that path.
inline std::string writeConfigText(const std::string& dir, const std::string& yaml) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/zilla.yaml";
  std::ofstream(path + ".new") << yaml;
  std::filesystem::rename(path + ".new", path);
  return path;
}

inline std::string chainYaml(const ChainConfig& config) {
  std::ostringstream yaml;
  yaml << "name: " << config.name << "\n"
       << "bindings:\n"
       << "  kafka_client0:\n"
       << "    type: kafka\n"
       << "    kind: client\n"
       << "    options:\n"
       << "      servers: [\"" << config.bootstrap << "\"]\n";
  if (!config.kafka_properties.empty()) {
    yaml << "      properties:\n";
    for (const auto& [name, value] : config.kafka_properties) {
      yaml << "        " << name << ": \"" << value << "\"\n";
    }
  }
  yaml << "  kafka_grpc0:\n"
       << "    type: kafka-grpc\n"
       << "    kind: remote_server\n"
       << "    entry: kafka_client0\n"
       << "    options:\n"
       << "      acks: " << config.acks << "\n";
  if (config.max_in_flight) {
    yaml << "      max-in-flight: " << *config.max_in_flight << "\n";
  }
  if (config.retry) {
    yaml << "      retry:\n"
         << "        max-attempts: " << config.retry->max_attempts << "\n"
         << "        initial-backoff: " << config.retry->initial_backoff_ms << "ms\n"
         << "        max-backoff: " << config.retry->max_backoff_ms << "ms\n";
  }
  if (config.deadline) {
    yaml << "      deadline: " << *config.deadline << "\n";
  }
  yaml << "    routes:\n";
  std::vector<ChainRoute> routes = {{config.requests, config.responses, config.authority}};
  routes.insert(routes.end(), config.more_routes.begin(), config.more_routes.end());
  for (const ChainRoute& route : routes) {
    yaml << "      - exit: grpc_client0\n"
         << "        when:\n"
         << "          - topic: " << route.requests << "\n"
         << "            reply-to: " << route.responses << "\n"
         << "        with:\n"
         << "          scheme: http\n"
         << "          authority: " << route.authority << "\n";
  }
  yaml << "  grpc_client0:\n"
       << "    type: grpc\n"
       << "    kind: client\n";
  if (config.prometheus) {
    yaml << "telemetry:\n"
         << "  exporters:\n"
         << "    prometheus0:\n"
         << "      type: prometheus\n"
         << "      options:\n"
         << "        endpoints:\n"
         << "          - {scheme: http, path: /metrics, port: 0}\n";
  }
  return yaml.str();
}

// Writes `config` to `dir`/zilla.yaml (creating `dir`); returns that path. The text goes to a
// file beside it first, renamed over zilla.yaml, as editors save: a host watching the file never
// reads half of it.
inline std::string writeChainConfig(const std::string& dir, const ChainConfig& config) {
  return writeConfigText(dir, chainYaml(config));
}

}  // namespace zb::test
