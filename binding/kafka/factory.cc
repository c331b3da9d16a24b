// The ABI entry point of the `kafka` binding type.
#include "client_binding.h"
#include "config.h"

#include <zb/sdk/binding.hpp>

namespace {

std::unique_ptr<zb::sdk::Binding> createKafkaBinding(const zb::sdk::Host& host,
                                                     const zb_binding_config_t& config,
                                                     std::string& error) {
  return zb::kafka_binding::ClientBinding::create(host, config, error);
}

}  // namespace

ZB_BINDING_EXPORT(zb::kafka_binding::kTypeName, zb::kafka_binding::kConfigSchema,
                  createKafkaBinding)
