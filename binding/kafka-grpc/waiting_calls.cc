#include "waiting_calls.h"

#include "correlated_call.h"

namespace zb::kafka_grpc {

WaitingCalls::Queue& WaitingCalls::queueOf(uint64_t key) {
  for (Queue& queue : queues_) {
    if (queue.key == key) {
      return queue;
    }
  }
  queues_.push_back(Queue{key});
  return queues_.back();
}

void WaitingCalls::push(CorrelatedCall& call) {
  Queue& queue = queueOf(call.waitingKey());
  call.waiting_next = nullptr;
  (queue.tail != nullptr ? queue.tail->waiting_next : queue.head) = &call;
  queue.tail = &call;
  ++count_;
}

CorrelatedCall* WaitingCalls::pop() {
  if (count_ == 0) {
    return nullptr;
  }
  for (size_t tried = 0; tried < queues_.size(); ++tried) {
    Queue& queue = queues_[turn_];
    turn_ = (turn_ + 1) % queues_.size();
    if (queue.head != nullptr) {
      CorrelatedCall* call = queue.head;
      queue.head = call->waiting_next;
      if (queue.head == nullptr) {
        queue.tail = nullptr;
      }
      call->waiting_next = nullptr;
      --count_;
      return call;
    }
  }
  return nullptr;
}

void WaitingCalls::erase(CorrelatedCall& call) {
  Queue& queue = queueOf(call.waitingKey());
  CorrelatedCall* previous = nullptr;
  for (CorrelatedCall* at = queue.head; at != nullptr; at = at->waiting_next) {
    if (at == &call) {
      (previous != nullptr ? previous->waiting_next : queue.head) = at->waiting_next;
      if (queue.tail == at) {
        queue.tail = previous;
      }
      at->waiting_next = nullptr;
      --count_;
      return;
    }
    previous = at;
  }
}

}  // namespace zb::kafka_grpc
