#include "channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <chrono>

namespace zb::grpc_binding {
namespace {

// A watch never outlives this, so stopping the binding waits at most this long for it; while
// calls wait longer, the watch is simply renewed (a few wake-ups a second, not a busy loop).
constexpr auto kWatchSlice = std::chrono::milliseconds(250);

std::shared_ptr<::grpc::ChannelCredentials> credentialsFor(const ClientOptions& options,
                                                           std::string_view scheme) {
  if (!options.tls && scheme != "https") {
    return ::grpc::InsecureChannelCredentials();
  }
  ::grpc::SslCredentialsOptions ssl;
  if (options.tls) {
    ssl.pem_root_certs = options.tls->ca_pem;  // empty: the system's roots
    ssl.pem_private_key = options.tls->key_pem;
    ssl.pem_cert_chain = options.tls->cert_pem;
  }
  return ::grpc::SslCredentials(ssl);
}

}  // namespace

ServiceChannel::ServiceChannel(std::string authority, std::shared_ptr<::grpc::Channel> channel,
                               ::grpc::CompletionQueue* queue)
    : authority_(std::move(authority)),
      channel_(std::move(channel)),
      stub_(channel_),
      queue_(queue) {}

ServiceChannel::Connect ServiceChannel::connect(ChannelWaiter* waiter) {
  const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  switch (state) {
    case GRPC_CHANNEL_READY:
      return Connect::kReady;
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
    case GRPC_CHANNEL_SHUTDOWN:
      ::grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
      return Connect::kUnavailable;
    default:
      waiting_.push_back(waiter);
      if (!watching_) {
        watch(state);
      }
      return Connect::kWaiting;
  }
}

void ServiceChannel::cancel(ChannelWaiter* waiter) {
  std::erase(waiting_, waiter);
  std::erase(ready_, waiter);
}

void ServiceChannel::watch(grpc_connectivity_state from) {
  watching_ = true;
  channel_->NotifyOnStateChange(from, std::chrono::system_clock::now() + kWatchSlice, queue_,
                                &watch_tag_);
}

void ServiceChannel::onCompletion(int, bool) {
  watching_ = false;
  if (waiting_.empty()) {
    return;  // nobody waits: stop watching until the next call
  }
  const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  switch (state) {
    case GRPC_CHANNEL_READY:
      // Starting a call may end another waiter's stream (which then cancels itself out of
      // ready_); take the batch out first, oldest call first.
      ready_.swap(waiting_);
      std::reverse(ready_.begin(), ready_.end());
      while (!ready_.empty()) {
        ChannelWaiter* waiter = ready_.back();
        ready_.pop_back();
        waiter->onChannelReady();
      }
      break;
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      failAll("unavailable: cannot connect to " + authority_);
      break;
    case GRPC_CHANNEL_SHUTDOWN:
      failAll("unavailable: channel to " + authority_ + " shut down");
      break;
    default:
      watch(state);
      break;
  }
}

void ServiceChannel::failAll(std::string_view reason) {
  ready_.swap(waiting_);
  std::reverse(ready_.begin(), ready_.end());
  while (!ready_.empty()) {
    ChannelWaiter* waiter = ready_.back();
    ready_.pop_back();
    waiter->onChannelFailed(reason);
  }
}

ServiceChannel& ChannelPool::channelFor(std::string_view scheme, std::string_view authority) {
  key_.assign(scheme).append("://").append(authority);
  auto found = channels_.find(key_);
  if (found != channels_.end()) {
    return *found->second;
  }
  ::grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(options_.max_receive_message_size);
  // Channels of different bindings (or engines in one test process) never share connections.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (options_.tls && !options_.tls->server_name.empty()) {
    arguments.SetSslTargetNameOverride(options_.tls->server_name);
  }
  std::shared_ptr<::grpc::Channel> channel = ::grpc::CreateCustomChannel(
      std::string(authority), credentialsFor(options_, scheme), arguments);
  auto inserted = channels_.emplace(
      key_, std::make_unique<ServiceChannel>(std::string(authority), std::move(channel), queue_));
  return *inserted.first->second;
}

size_t ChannelPool::watching() const {
  size_t count = 0;
  for (const auto& [key, channel] : channels_) {
    count += channel->watching() ? 1 : 0;
  }
  return count;
}

}  // namespace zb::grpc_binding
