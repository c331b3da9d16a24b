// One gRPC channel per scheme and authority, shared by every call to that service, and the
// wait for it to become READY before a call may take request bytes.
#pragma once

#include "completion.h"
#include "config.h"

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zb::grpc_binding {

// A call waiting for its channel.
class ChannelWaiter {
 public:
  virtual ~ChannelWaiter() = default;
  // The channel is READY: start the call. Thread: engine.
  virtual void onChannelReady() = 0;
  // The channel went to TRANSIENT_FAILURE (or shut down) while the call waited.
  // Thread: engine.
  virtual void onChannelFailed(std::string_view reason) = 0;
};

// All of this runs on the engine thread; the connectivity watch completes through the
// binding's CompletionThread.
class ServiceChannel final : public CompletionTarget {
 public:
  ServiceChannel(std::string authority, std::shared_ptr<::grpc::Channel> channel,
                 ::grpc::CompletionQueue* queue);
  ~ServiceChannel() override = default;

  ::grpc::GenericStub& stub() { return stub_; }
  const std::string& authority() const { return authority_; }

  enum class Connect { kReady, kWaiting, kUnavailable };
  // kReady: the channel is READY, the caller starts its call now. kWaiting: it is connecting;
  // `waiter` hears onChannelReady or onChannelFailed (or leaves with cancel()). kUnavailable:
  // the channel is in TRANSIENT_FAILURE (gRPC keeps it there until a connection succeeds), so
  // the call is refused at once; its reconnect backoff is reset, so the caller's retry -- not
  // gRPC's growing backoff -- paces the next connection attempt.
  Connect connect(ChannelWaiter* waiter);
  void cancel(ChannelWaiter* waiter);

  void onCompletion(int operation, bool ok) override;

  // A watch is outstanding on the completion queue.
  bool watching() const { return watching_; }

 private:
  void watch(grpc_connectivity_state from);
  void failAll(std::string_view reason);

  std::string authority_;
  std::shared_ptr<::grpc::Channel> channel_;
  ::grpc::GenericStub stub_;
  ::grpc::CompletionQueue* queue_;
  CompletionTag watch_tag_{this, 0};
  bool watching_ = false;
  std::vector<ChannelWaiter*> waiting_;
  std::vector<ChannelWaiter*> ready_;  // reused when a batch is released
};

// The channels of one binding, keyed by scheme and authority. Engine thread.
class ChannelPool {
 public:
  ChannelPool(const ClientOptions& options, ::grpc::CompletionQueue* queue)
      : options_(options), queue_(queue) {}

  ServiceChannel& channelFor(std::string_view scheme, std::string_view authority);

  // Connectivity watches outstanding (each completes within its short deadline).
  size_t watching() const;

 private:
  const ClientOptions& options_;
  ::grpc::CompletionQueue* queue_;
  std::unordered_map<std::string, std::unique_ptr<ServiceChannel>> channels_;
  std::string key_;
};

}  // namespace zb::grpc_binding
