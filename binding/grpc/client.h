// The `grpc` client binding: accepts call streams and runs them as generic gRPC calls.
#pragma once

#include "channel.h"
#include "completion.h"
#include "config.h"
#include "metrics.h"

#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace zb::grpc_binding {

class CallStream;

// Signal ids this binding uses.
enum Signal : int32_t {
  kCompletionSignal = 1,      // posted by the CompletionThread, payload: Completion
  kConnectTimeoutSignal = 2,  // scheduled per waiting call, stream_id: its initial id
  kFlushWritesSignal = 3,     // posted by a call to itself, stream_id: its initial id
};

// Credit granted on a call's initial direction: request bytes queued for gRPC at most.
constexpr int32_t kRequestWindow = 64 * 1024;

// Everything runs on the engine thread; only the CompletionThread has a thread of its own.
class ClientBinding final : public sdk::Binding {
 public:
  // `metric_binding` is the binding="..." label of its metrics: "<namespace>.<name>".
  ClientBinding(const sdk::Host& host, ClientConfig config, std::string_view metric_binding);
  // Cancels every call, drains the completion queue, joins its thread, frees every call.
  ~ClientBinding() override;

  sdk::Stream* onStreamNew(const zb_frame_t& begin) override;
  void onSignal(const zb_frame_t& signal) override;

  // ---- For CallStream.
  const ClientConfig& config() const { return config_; }
  CallMetrics& metrics() { return metrics_; }
  uint32_t grpcTypeId() const { return grpc_type_id_; }
  // One builder for every extension this binding writes: frames are sent synchronously, so
  // it is free again as soon as the send returns.
  sdk::ExtensionWriter& extensionWriter() { return writer_; }
  std::vector<flatbuffers::Offset<zb::grpc::Metadata>>& metadataScratch() { return metadata_; }
  std::string& textScratch() { return text_; }
  ServiceChannel& channelFor(std::string_view scheme, std::string_view authority) {
    return channels_.channelFor(scheme, authority);
  }
  ::grpc::CompletionQueue* queue() { return completions_.queue(); }
  // The call's stream was released by the host: no connect timer can name it any more.
  void forget(CallStream* call, uint64_t initial_id);
  // The call has nothing outstanding: free it.
  void dispose(CallStream* call);

 private:
  ClientConfig config_;
  uint32_t grpc_type_id_;
  CallMetrics metrics_;
  sdk::ExtensionWriter writer_;
  std::vector<flatbuffers::Offset<zb::grpc::Metadata>> metadata_;
  std::string text_;
  CompletionThread completions_;
  ChannelPool channels_;
  std::unordered_map<uint64_t, CallStream*> by_initial_id_;  // streams not yet released
  std::unordered_set<CallStream*> calls_;                    // every call not yet freed
};

}  // namespace zb::grpc_binding
