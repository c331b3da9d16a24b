// The engine's routing table: initial stream id -> both sides of the stream.
// Open addressing with linear probing and backward-shift deletion, so opening and closing
// streams in steady state does not allocate (it grows, by doubling, only past 50% load).
#pragma once

#include <zb/abi.h>

#include <cstdint>
#include <vector>

namespace zb::runtime {

struct HostBinding;

struct StreamRoute {
  HostBinding* initiator = nullptr;
  zb_stream_t* initiator_stream = nullptr;
  HostBinding* acceptor = nullptr;
  zb_stream_t* acceptor_stream = nullptr;  // null until the acceptor takes the BEGIN
  bool initial_closed = false;
  bool reply_closed = false;
};

class StreamTable {
 public:
  explicit StreamTable(size_t capacity = 1024) : slots_(capacity) {}

  // Stream ids are odd, so 0 marks an empty slot.
  StreamRoute* find(uint64_t id) {
    for (size_t i = indexOf(id);; i = next(i)) {
      Slot& slot = slots_[i];
      if (slot.id == id) {
        return &slot.route;
      }
      if (slot.id == 0) {
        return nullptr;
      }
    }
  }

  // Inserts a new id (not already present). Pointers from find() may be invalidated.
  void insert(uint64_t id, const StreamRoute& route) {
    if ((size_ + 1) * 2 > slots_.size()) {
      grow();
    }
    place(id, route);
    ++size_;
  }

  void erase(uint64_t id) {
    size_t i = indexOf(id);
    while (slots_[i].id != id) {
      if (slots_[i].id == 0) {
        return;
      }
      i = next(i);
    }
    // Backward-shift: move later entries of the same probe run into the hole.
    size_t hole = i;
    for (size_t j = next(hole);; j = next(j)) {
      if (slots_[j].id == 0) {
        break;
      }
      const size_t home = indexOf(slots_[j].id);
      const bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  // Removes every route for which pred(route) is true.
  template <typename Pred>
  void eraseIf(Pred pred) {
    std::vector<uint64_t> doomed;
    for (const Slot& slot : slots_) {
      if (slot.id != 0 && pred(slot.route)) {
        doomed.push_back(slot.id);
      }
    }
    for (uint64_t id : doomed) {
      erase(id);
    }
  }

  // Calls fn(id, route) for every route.
  template <typename Fn>
  void forEach(Fn fn) const {
    for (const Slot& slot : slots_) {
      if (slot.id != 0) {
        fn(slot.id, slot.route);
      }
    }
  }

  void clear() {
    for (Slot& slot : slots_) {
      slot = Slot{};
    }
    size_ = 0;
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t id = 0;
    StreamRoute route;
  };

  size_t indexOf(uint64_t id) const {
    // Fibonacci hashing spreads the sequential ids the engine hands out.
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> 20) & (slots_.size() - 1);
  }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void place(uint64_t id, const StreamRoute& route) {
    size_t i = indexOf(id);
    while (slots_[i].id != 0) {
      i = next(i);
    }
    slots_[i].id = id;
    slots_[i].route = route;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.id != 0) {
        place(slot.id, slot.route);
      }
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace zb::runtime
