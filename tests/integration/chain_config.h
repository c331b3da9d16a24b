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
};

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
  yaml << "    routes:\n"
       << "      - exit: grpc_client0\n"
       << "        when:\n"
       << "          - topic: " << config.requests << "\n"
       << "            reply-to: " << config.responses << "\n"
       << "        with:\n"
       << "          scheme: http\n"
       << "          authority: " << config.authority << "\n"
       << "  grpc_client0:\n"
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

// Writes `config` to `dir`/zilla.yaml (creating `dir`); returns that path.
inline std::string writeChainConfig(const std::string& dir, const ChainConfig& config) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/zilla.yaml";
  std::ofstream(path) << chainYaml(config);
  return path;
}

}  // namespace zb::test
