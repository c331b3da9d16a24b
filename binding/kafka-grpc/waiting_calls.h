// Calls waiting for a slot of max-in-flight: one queue per partition of each fetch stream. Slots
// go to the queues in turn (a backlog on one partition never holds back the calls of another),
// and in arrival order within a queue, so the calls of a partition start in the order of their
// offsets: what is left when a partition is given up, or the host stops, is always a tail of it.
//
// Thread: engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zb::kafka_grpc {

class CorrelatedCall;

class WaitingCalls {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

  // Queues `call` behind the others of its partition (CorrelatedCall::waitingKey()).
  void push(CorrelatedCall& call);
  // The next call to get a slot: the oldest of the next partition in turn; nullptr when none.
  CorrelatedCall* pop();
  // Takes `call` out wherever it waits (it no longer needs a slot).
  void erase(CorrelatedCall& call);

 private:
  struct Queue {
    uint64_t key = 0;
    CorrelatedCall* head = nullptr;
    CorrelatedCall* tail = nullptr;
  };
  // Queues are kept once made (an empty one is reused by its partition), so that waiting does
  // not allocate in steady state; there are as many as partitions seen.
  Queue& queueOf(uint64_t key);

  std::vector<Queue> queues_;
  size_t turn_ = 0;  // the queue whose turn is next
  size_t count_ = 0;
};

}  // namespace zb::kafka_grpc
