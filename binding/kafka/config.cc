#include "config.h"

#include <json/json.h>

#include <memory>

namespace zb::kafka_binding {

const char* const kTypeName = "kafka";

namespace {

bool setProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                 std::string& error) {
  char reason[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) !=
      RD_KAFKA_CONF_OK) {
    error = "librdkafka property '" + name + "': " + reason;
    return false;
  }
  return true;
}

bool hasProperty(const ClientOptions& options, std::string_view name) {
  for (const auto& [key, value] : options.properties) {
    if (key == name) {
      return true;
    }
  }
  return false;
}

const char* saslMechanism(const std::string& mechanism) {
  if (mechanism == "plain") {
    return "PLAIN";
  }
  if (mechanism == "scram-sha-256") {
    return "SCRAM-SHA-256";
  }
  if (mechanism == "scram-sha-512") {
    return "SCRAM-SHA-512";
  }
  return nullptr;
}

}  // namespace

std::optional<ClientOptions> ClientOptions::parse(std::string_view json, std::string& error) {
  Json::Value root;
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string parse_error;
  if (!reader->parse(json.data(), json.data() + json.size(), &root, &parse_error)) {
    error = "options: not JSON: " + parse_error;
    return std::nullopt;
  }
  if (root.isNull()) {
    root = Json::Value(Json::objectValue);
  }
  if (!root.isObject()) {
    error = "options: expected an object";
    return std::nullopt;
  }

  ClientOptions options;
  for (const std::string& name : root.getMemberNames()) {
    const Json::Value& value = root[name];
    if (name == "servers") {
      if (!value.isArray()) {
        error = "options/servers: expected an array of \"host:port\"";
        return std::nullopt;
      }
      for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
        if (!value[i].isString() || value[i].asString().find(':') == std::string::npos) {
          error = "options/servers/" + std::to_string(i) + ": expected \"host:port\"";
          return std::nullopt;
        }
        options.servers.push_back(value[i].asString());
      }
    } else if (name == "properties") {
      if (!value.isObject()) {
        error = "options/properties: expected an object of strings";
        return std::nullopt;
      }
      for (const std::string& key : value.getMemberNames()) {
        const Json::Value& property = value[key];
        if (property.isString()) {
          options.properties.emplace_back(key, property.asString());
        } else if (property.isBool()) {
          options.properties.emplace_back(key, property.asBool() ? "true" : "false");
        } else if (property.isIntegral()) {
          options.properties.emplace_back(key, property.isUInt64()
                                                   ? std::to_string(property.asUInt64())
                                                   : std::to_string(property.asInt64()));
        } else if (property.isDouble()) {
          Json::StreamWriterBuilder writer;
          writer["indentation"] = "";
          options.properties.emplace_back(key, Json::writeString(writer, property));
        } else {
          error = "options/properties/" + key + ": expected a string, number or boolean";
          return std::nullopt;
        }
      }
    } else if (name == "sasl") {
      SaslOptions sasl;
      if (!value.isObject() || !value["mechanism"].isString() || !value["username"].isString() ||
          !value["password"].isString()) {
        error = "options/sasl: expected {mechanism, username, password}";
        return std::nullopt;
      }
      sasl.mechanism = value["mechanism"].asString();
      sasl.username = value["username"].asString();
      sasl.password = value["password"].asString();
      if (saslMechanism(sasl.mechanism) == nullptr) {
        error = "options/sasl/mechanism: expected plain, scram-sha-256 or scram-sha-512";
        return std::nullopt;
      }
      options.sasl = std::move(sasl);
    } else if (name == "embedded") {
      if (!value.isObject()) {
        error = "options/embedded: expected an object";
        return std::nullopt;
      }
      const Json::Value& partitions = value["partitions"];
      if (!partitions.isNull()) {
        if (!partitions.isInt() || partitions.asInt() < 1 || partitions.asInt() > 1024) {
          error = "options/embedded/partitions: expected an integer from 1 to 1024";
          return std::nullopt;
        }
        options.embedded.partitions = partitions.asInt();
      }
    } else {
      error = "options/" + name + ": unknown option";
      return std::nullopt;
    }
  }
  return options;
}

rd_kafka_conf_t* makeKafkaConf(const ClientOptions& options, const std::string& bootstrap,
                               HandleRole role,
                               const std::vector<std::pair<std::string, std::string>>& extra,
                               std::string& error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) {
    return setProperty(conf, name, value, error);
  };
  bool ok = set("bootstrap.servers", bootstrap) && set("log.connection.close", "false");
  if (role == HandleRole::kConsumer) {
    // Defaults the user may change.
    // Cooperative rebalances move only the partitions that must move: a partition that stays is
    // never revoked, so its calls in flight are never disturbed by another member joining.
    ok = ok && set("auto.offset.reset", "earliest") && set("allow.auto.create.topics", "true") &&
         set("enable.partition.eof", "false") &&
         set("partition.assignment.strategy", "cooperative-sticky");
  } else {
    ok = ok && set("queue.buffering.max.messages", "1000000");
  }
  for (const auto& [name, value] : options.properties) {
    ok = ok && set(name, value);
  }
  if (options.sasl) {
    ok = ok && set("sasl.mechanisms", saslMechanism(options.sasl->mechanism)) &&
         set("sasl.username", options.sasl->username) &&
         set("sasl.password", options.sasl->password);
    if (!hasProperty(options, "security.protocol")) {
      ok = ok && set("security.protocol", "SASL_PLAINTEXT");
    }
  }
  if (role == HandleRole::kConsumer) {
    // The binding commits what its streams report; librdkafka must not commit on its own.
    ok = ok && set("enable.auto.commit", "false") && set("enable.auto.offset.store", "false");
  }
  for (const auto& [name, value] : extra) {
    ok = ok && set(name, value);
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

}  // namespace zb::kafka_binding
