#include "client.h"

#include "stream.h"

#include <algorithm>
#include <cstring>

namespace zb::grpc_binding {
namespace {

// The method patterns the routes name, once each, in config order: the `method` labels.
std::vector<std::string> namedMethods(const ClientConfig& config) {
  std::vector<std::string> named;
  for (const Route& route : config.routes) {
    for (const RouteCondition& condition : route.when) {
      if (!condition.method.empty() &&
          std::find(named.begin(), named.end(), condition.method) == named.end()) {
        named.push_back(condition.method);
      }
    }
  }
  return named;
}

}  // namespace

ClientBinding::ClientBinding(const sdk::Host& host, ClientConfig config,
                             std::string_view metric_binding)
    : sdk::Binding(host),
      config_(std::move(config)),
      grpc_type_id_(host.typeId("grpc")),
      metrics_(host, metric_binding, namedMethods(config_)),
      completions_(host, kCompletionSignal),
      channels_(config_.options, completions_.queue()) {}

ClientBinding::~ClientBinding() {
  for (CallStream* call : calls_) {
    call->cancelForShutdown();
  }
  // Every outstanding operation completes (cancelled calls fail fast; a connectivity watch
  // within its short deadline) and is dropped; then nothing refers to the calls any more.
  completions_.stop();
  for (CallStream* call : calls_) {
    delete call;
  }
  calls_.clear();
}

sdk::Stream* ClientBinding::onStreamNew(const zb_frame_t& begin) {
  auto* call = new CallStream(*this, begin);
  calls_.insert(call);
  by_initial_id_[begin.stream_id] = call;
  return call;
}

void ClientBinding::onSignal(const zb_frame_t& signal) {
  switch (signal.signal_id) {
    case kCompletionSignal: {
      if (signal.payload == nullptr || signal.payload_length % sizeof(Completion) != 0) {
        host().log(ZB_LOG_ERROR, "grpc: malformed completion signal");
        return;
      }
      // A target is freed only once all of its operations have completed, so a later entry of
      // the batch never names a target an earlier entry freed.
      const size_t count = signal.payload_length / sizeof(Completion);
      for (size_t i = 0; i < count; ++i) {
        Completion completion;
        std::memcpy(&completion, signal.payload + i * sizeof(Completion), sizeof completion);
        completion.tag->target->onCompletion(completion.tag->operation, completion.ok);
      }
      break;
    }
    case kConnectTimeoutSignal: {
      auto found = by_initial_id_.find(signal.stream_id);
      if (found != by_initial_id_.end()) {
        found->second->onConnectTimeout();
      }
      break;
    }
    case kFlushWritesSignal: {
      auto found = by_initial_id_.find(signal.stream_id);
      if (found != by_initial_id_.end()) {
        found->second->onFlushWrites();
      }
      break;
    }
    default:
      break;
  }
}

void ClientBinding::forget(CallStream* call, uint64_t initial_id) {
  auto found = by_initial_id_.find(initial_id);
  if (found != by_initial_id_.end() && found->second == call) {
    by_initial_id_.erase(found);
  }
}

void ClientBinding::dispose(CallStream* call) {
  calls_.erase(call);
  delete call;
}

}  // namespace zb::grpc_binding
