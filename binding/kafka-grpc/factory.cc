// The ABI entry points of the kafka-grpc binding type.
#include "config.h"
#include "remote_server.h"

#include <zb/sdk/binding.hpp>

#include <cstring>
#include <memory>
#include <string>

namespace zb::kafka_grpc {

// The JSON Schema of a binding entry, embedded from schema/kafka-grpc.schema.json at build time.
extern const char* const kConfigSchema;

namespace {

const char* const kTypeName = "kafka-grpc";

std::unique_ptr<sdk::Binding> createBinding(const sdk::Host& host,
                                            const zb_binding_config_t& config, std::string& error) {
  if (config.kind == nullptr || std::strcmp(config.kind, "remote_server") != 0) {
    error = "/kind: expected remote_server";
    return nullptr;
  }
  if (config.entry_id == 0) {
    error = "/entry: expected the name of a declared kafka binding";
    return nullptr;
  }
  const BindingResolver resolve = [&host](const std::string& name) {
    return host.bindingId(name.c_str());
  };
  std::optional<Config> parsed =
      parseConfig(config.options_json != nullptr ? config.options_json : "{}",
                  config.routes_json != nullptr ? config.routes_json : "[]",
                  config.namespace_ != nullptr ? config.namespace_ : "",
                  config.name != nullptr ? config.name : "", resolve, error);
  if (!parsed) {
    return nullptr;
  }
  return std::make_unique<RemoteServer>(host, config, std::move(*parsed));
}

}  // namespace
}  // namespace zb::kafka_grpc

ZB_BINDING_EXPORT(zb::kafka_grpc::kTypeName, zb::kafka_grpc::kConfigSchema,
                  zb::kafka_grpc::createBinding)
