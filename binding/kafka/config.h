// The typed configuration of a `kafka` client binding, parsed once from the host's JSON, and the
// librdkafka settings it implies for consumers, producers and the embedded cluster.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::kafka_binding {

// The binding type name and its JSON Schema (schema.json, embedded at build time).
extern const char* const kTypeName;
extern const char* const kConfigSchema;

struct SaslOptions {
  std::string mechanism;  // plain | scram-sha-256 | scram-sha-512
  std::string username;
  std::string password;
};

struct EmbeddedOptions {
  int32_t partitions = 1;  // of each topic the embedded cluster creates
};

struct ClientOptions {
  std::vector<std::string> servers;                             // empty: start the embedded Kafka
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka, in config order
  std::optional<SaslOptions> sasl;
  EmbeddedOptions embedded;

  bool embeddedCluster() const { return servers.empty(); }

  // Parses `options` JSON text. Returns nullopt with `error` naming the field on bad input (the
  // host validated against the schema already; this guards direct use).
  static std::optional<ClientOptions> parse(std::string_view json, std::string& error);
};

// What a librdkafka handle is for: the settings that follow from it are applied on top of the
// user's properties (or under them, for defaults the user may change).
enum class HandleRole { kConsumer, kProducer };

// Builds a librdkafka configuration: `bootstrap`, then defaults for `role`, then the user's
// properties and SASL settings, then the settings the binding's semantics depend on (which win).
// `extra` are role-specific settings (group.id, acks, ...). Returns nullptr with `error` when
// librdkafka rejects a property.
rd_kafka_conf_t* makeKafkaConf(const ClientOptions& options, const std::string& bootstrap,
                               HandleRole role,
                               const std::vector<std::pair<std::string, std::string>>& extra,
                               std::string& error);

}  // namespace zb::kafka_binding
