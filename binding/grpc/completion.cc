#include "completion.h"

namespace zb::grpc_binding {

CompletionThread::CompletionThread(const sdk::Host& host, int32_t signal_id)
    : host_(host), signal_id_(signal_id), thread_([this] { run(); }) {}

CompletionThread::~CompletionThread() { stop(); }

void CompletionThread::stop() {
  if (!thread_.joinable()) {
    return;
  }
  stopping_.store(true, std::memory_order_release);
  queue_.Shutdown();
  thread_.join();
}

void CompletionThread::run() {
  // Completions that are ready together go to the engine in one post: fewer wake-ups of the
  // engine thread, which is what a call costs most on a busy two-core machine.
  constexpr size_t kBatch = 64;
  Completion batch[kBatch];
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
    size_t count = 0;
    batch[count++] = Completion{static_cast<CompletionTag*>(tag), ok};
    while (count < kBatch && queue_.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) ==
                                 ::grpc::CompletionQueue::GOT_EVENT) {
      batch[count++] = Completion{static_cast<CompletionTag*>(tag), ok};
    }
    if (stopping_.load(std::memory_order_acquire)) {
      continue;  // draining: the engine frees the targets once the queue is empty
    }
    if (host_.post(0, signal_id_, batch, count * sizeof(Completion)) != ZB_OK) {
      dropped_.fetch_add(count, std::memory_order_relaxed);
    }
  }
}

}  // namespace zb::grpc_binding
