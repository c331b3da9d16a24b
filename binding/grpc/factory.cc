// The ABI entry point of the `grpc` binding type: zb_binding_init, through the SDK.
#include "client.h"

#include <zb/sdk/binding.hpp>

namespace zb::grpc_binding {
namespace {

const char* const kTypeName = "grpc";
const char* const kSchema =
#include "schema.inc"
    ;

std::unique_ptr<sdk::Binding> create(const sdk::Host& host, const zb_binding_config_t& config,
                                     std::string& error) {
  if (config.kind == nullptr || std::string_view(config.kind) != "client") {
    error = "grpc: kind must be client";
    return nullptr;
  }
  std::optional<ClientConfig> parsed =
      ClientConfig::parse(config.options_json != nullptr ? config.options_json : "{}",
                          config.routes_json != nullptr ? config.routes_json : "[]", error);
  if (!parsed) {
    error = "grpc: " + error;
    return nullptr;
  }
  std::string metric_binding = config.namespace_ != nullptr ? config.namespace_ : "";
  metric_binding.append(".").append(config.name != nullptr ? config.name : "");
  return std::make_unique<ClientBinding>(host, std::move(*parsed), metric_binding);
}

}  // namespace
}  // namespace zb::grpc_binding

ZB_BINDING_EXPORT(zb::grpc_binding::kTypeName, zb::grpc_binding::kSchema, zb::grpc_binding::create)
