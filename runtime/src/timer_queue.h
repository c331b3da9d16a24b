// Timers of the engine thread: a binary heap of deadlines over a slab of timer slots. Each slot
// knows its place in the heap, so a cancelled timer leaves the heap at once (a deadline of an hour
// cancelled a thousand times a second must not keep 3.6 million entries). Cancel ids carry the
// slot's generation, so a stale id cancels nothing; slots and heap storage are reused, so
// scheduling and cancelling in steady state does not allocate.
#pragma once

#include <cstddef>
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
    slot.deadline_ns = deadline_ns;
    slot.heap_at = heap_.size();
    heap_.push_back(index);
    siftUp(slot.heap_at);
    return (uint64_t(slot.generation) << 32) | (uint64_t(index) + 1);
  }

  void cancel(uint64_t cancel_id) {
    const uint32_t index = static_cast<uint32_t>(cancel_id & 0xffffffffu) - 1;
    const uint32_t generation = static_cast<uint32_t>(cancel_id >> 32);
    if (index < slots_.size() && slots_[index].heap_at != kNotQueued &&
        slots_[index].generation == generation) {
      remove(slots_[index].heap_at);
      release(index);
    }
  }

  // Pops the next timer due at `now_ns`.
  bool popDue(int64_t now_ns, Due& due) {
    if (heap_.empty() || slots_[heap_.front()].deadline_ns > now_ns) {
      return false;
    }
    const uint32_t index = heap_.front();
    const Slot& slot = slots_[index];
    due = Due{slot.owner, slot.stream_id, slot.signal_id};
    remove(0);
    release(index);
    return true;
  }

  // The earliest deadline, or 0 when none.
  int64_t nextDeadline() const { return heap_.empty() ? 0 : slots_[heap_.front()].deadline_ns; }

  // Timers scheduled and neither due nor cancelled yet.
  size_t pending() const { return heap_.size(); }

 private:
  static constexpr size_t kNotQueued = SIZE_MAX;

  struct Slot {
    void* owner = nullptr;
    uint64_t stream_id = 0;
    int64_t deadline_ns = 0;
    size_t heap_at = kNotQueued;  // position in heap_
    int32_t signal_id = 0;
    uint32_t generation = 1;
  };

  bool earlier(size_t a, size_t b) const {
    return slots_[heap_[a]].deadline_ns < slots_[heap_[b]].deadline_ns;
  }
  void place(size_t at, uint32_t index) {
    heap_[at] = index;
    slots_[index].heap_at = at;
  }
  void swap(size_t a, size_t b) {
    const uint32_t index = heap_[a];
    place(a, heap_[b]);
    place(b, index);
  }
  void siftUp(size_t at) {
    while (at > 0) {
      const size_t parent = (at - 1) / 2;
      if (!earlier(at, parent)) {
        return;
      }
      swap(at, parent);
      at = parent;
    }
  }
  void siftDown(size_t at) {
    while (true) {
      const size_t left = 2 * at + 1;
      if (left >= heap_.size()) {
        return;
      }
      const size_t right = left + 1;
      const size_t child = right < heap_.size() && earlier(right, left) ? right : left;
      if (!earlier(child, at)) {
        return;
      }
      swap(at, child);
      at = child;
    }
  }
  // Takes the entry at `at` out of the heap: the last entry fills its place and moves up or down.
  void remove(size_t at) {
    const size_t last = heap_.size() - 1;
    if (at != last) {
      place(at, heap_[last]);
    }
    heap_.pop_back();
    if (at < heap_.size()) {
      siftDown(at);
      siftUp(at);
    }
  }
  void release(uint32_t index) {
    slots_[index].heap_at = kNotQueued;
    ++slots_[index].generation;
    free_.push_back(index);
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> heap_;  // slot indices, earliest deadline first
};

}  // namespace zb::runtime
