// gRPC completions, brought to the engine thread.
//
// One CompletionQueue served by one thread (on two cores one completion thread outran two). The
// thread never touches binding state: it posts the (tag, ok) pairs that are ready together to
// the engine in one Host::post, and the binding hands each to its CompletionTarget in onSignal.
#pragma once

#include <zb/sdk/binding.hpp>

#include <grpcpp/completion_queue.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace zb::grpc_binding {

// Something that started gRPC operations and wants their results. Each operation's tag is a
// CompletionTag that lives inside its target, one per kind of operation that can be outstanding.
class CompletionTarget {
 public:
  virtual ~CompletionTarget() = default;
  // Thread: engine.
  virtual void onCompletion(int operation, bool ok) = 0;
};

struct CompletionTag {
  CompletionTarget* target = nullptr;
  int operation = 0;
};

// What travels through Host::post, one or more per post.
struct Completion {
  CompletionTag* tag;
  bool ok;
};

class CompletionThread {
 public:
  // Starts the thread. Completions are posted with `signal_id`.
  CompletionThread(const sdk::Host& host, int32_t signal_id);
  // Stops the thread if stop() was not called.
  ~CompletionThread();
  CompletionThread(const CompletionThread&) = delete;
  CompletionThread& operator=(const CompletionThread&) = delete;

  ::grpc::CompletionQueue* queue() { return &queue_; }

  // Shuts the queue down and waits until every outstanding operation has completed and the
  // thread has exited. Completions that arrive meanwhile are dropped, not posted: the caller
  // must cancel its calls first, then free their state after this returns.
  // Thread: engine.
  void stop();

  // Completions the host refused to take (it was stopping). Thread: any.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // Thread: completion.
  void run();

  sdk::Host host_;
  int32_t signal_id_;
  ::grpc::CompletionQueue queue_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace zb::grpc_binding
