// Timers of the engine thread: a binary heap of deadlines over a slab of timer slots. Cancel ids
// carry the slot's generation, so a stale id cancels nothing; slots and heap storage are reused,
// so scheduling and cancelling in steady state does not allocate.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace zb::runtime {

class TimerQueue {
 public:
  struct Due {
    void* owner;
    uint64_t stream_id;
    int32_t signal_id;
  };

  uint64_t schedule(int64_t deadline_ns, void* owner, uint64_t stream_id, int32_t signal_id) {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<uint32_t>(slots_.size());
      slots_.push_back(Slot{});
    }
    Slot& slot = slots_[index];
    slot.owner = owner;
    slot.stream_id = stream_id;
    slot.signal_id = signal_id;
    slot.armed = true;
    heap_.push_back(Entry{deadline_ns, index, slot.generation});
    std::push_heap(heap_.begin(), heap_.end(), later);
    return (uint64_t(slot.generation) << 32) | (uint64_t(index) + 1);
  }

  void cancel(uint64_t cancel_id) {
    const uint32_t index = static_cast<uint32_t>(cancel_id & 0xffffffffu) - 1;
    const uint32_t generation = static_cast<uint32_t>(cancel_id >> 32);
    if (index < slots_.size() && slots_[index].armed && slots_[index].generation == generation) {
      release(index);
    }
  }

  // Pops the next timer due at `now_ns`, skipping cancelled ones.
  bool popDue(int64_t now_ns, Due& due) {
    while (!heap_.empty() && heap_.front().deadline_ns <= now_ns) {
      const Entry entry = heap_.front();
      std::pop_heap(heap_.begin(), heap_.end(), later);
      heap_.pop_back();
      Slot& slot = slots_[entry.index];
      if (!slot.armed || slot.generation != entry.generation) {
        continue;
      }
      due = Due{slot.owner, slot.stream_id, slot.signal_id};
      release(entry.index);
      return true;
    }
    return false;
  }

  // The earliest live deadline, or 0 when none.
  int64_t nextDeadline() {
    while (!heap_.empty()) {
      const Entry& top = heap_.front();
      const Slot& slot = slots_[top.index];
      if (slot.armed && slot.generation == top.generation) {
        return top.deadline_ns;
      }
      std::pop_heap(heap_.begin(), heap_.end(), later);
      heap_.pop_back();
    }
    return 0;
  }

 private:
  struct Slot {
    void* owner = nullptr;
    uint64_t stream_id = 0;
    int32_t signal_id = 0;
    uint32_t generation = 1;
    bool armed = false;
  };
  struct Entry {
    int64_t deadline_ns;
    uint32_t index;
    uint32_t generation;
  };
  static bool later(const Entry& a, const Entry& b) { return a.deadline_ns > b.deadline_ns; }

  void release(uint32_t index) {
    slots_[index].armed = false;
    ++slots_[index].generation;
    free_.push_back(index);
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<Entry> heap_;
};

}  // namespace zb::runtime
