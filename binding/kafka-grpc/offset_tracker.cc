#include "offset_tracker.h"

namespace zb::kafka_grpc {

OffsetTracker::Handle OffsetTracker::add(int32_t partition, int64_t offset) {
  if (partition < 0) {
    return Handle{};
  }
  const Partition* known = slotOf(partition);
  uint32_t slot;
  if (known != nullptr) {
    slot = static_cast<uint32_t>(known - slots_.data());
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back().id = partition;
    if (partition < kDirectIds) {
      if (static_cast<size_t>(partition) >= direct_.size()) {
        direct_.resize(static_cast<size_t>(partition) + 1, 0);
      }
      direct_[static_cast<size_t>(partition)] = slot + 1;
    } else {
      far_.emplace(partition, slot);
    }
  }
  Partition& p = slots_[slot];
  if (p.ring.empty()) {
    p.ring.resize(64);
  }
  if (p.tail - p.head == p.ring.size()) {
    std::vector<Entry> grown(p.ring.size() * 2);
    for (uint64_t seq = p.head; seq != p.tail; ++seq) {
      grown[seq & (grown.size() - 1)] = p.at(seq);
    }
    p.ring.swap(grown);
  }
  const uint64_t seq = p.tail++;
  p.at(seq) = Entry{offset, 0};
  p.highest = offset;
  return Handle{epoch_, partition, slot, p.generation, seq};
}

const OffsetTracker::Partition* OffsetTracker::slotOf(int32_t id) const {
  if (id < 0) {
    return nullptr;
  }
  if (id < kDirectIds) {
    const size_t index = static_cast<size_t>(id);
    return index < direct_.size() && direct_[index] != 0 ? &slots_[direct_[index] - 1] : nullptr;
  }
  const auto found = far_.find(id);
  return found == far_.end() ? nullptr : &slots_[found->second];
}

OffsetTracker::Partition* OffsetTracker::find(const Handle& handle) {
  if (!handle.valid() || handle.epoch != epoch_ || handle.slot >= slots_.size() ||
      slots_[handle.slot].id != handle.partition ||
      slots_[handle.slot].generation != handle.generation) {
    return nullptr;
  }
  Partition& p = slots_[handle.slot];
  if (handle.seq < p.head || handle.seq >= p.tail) {
    return nullptr;
  }
  return &p;
}

std::optional<OffsetTracker::Progress> OffsetTracker::mark(const Handle& handle, uint8_t bit) {
  Partition* p = find(handle);
  if (p == nullptr) {
    return std::nullopt;
  }
  p->at(handle.seq).state |= bit;
  if (handle.seq != p->head || p->at(p->head).state != kDone) {
    return std::nullopt;
  }
  int64_t next = -1;
  while (p->head != p->tail && p->at(p->head).state == kDone) {
    next = p->at(p->head).offset + 1;
    ++p->head;
  }
  p->committed = next;
  return Progress{handle.partition, next};
}

void OffsetTracker::clear() {
  for (Partition& p : slots_) {
    p.head = p.tail = 0;
    p.committed = -1;
    p.highest = -1;
  }
  ++epoch_;
}

void OffsetTracker::forget(int32_t partition) {
  if (const Partition* known = slotOf(partition)) {
    Partition& p = slots_[static_cast<size_t>(known - slots_.data())];
    p.head = p.tail = 0;
    p.committed = -1;
    p.highest = -1;
    ++p.generation;
  }
}

bool OffsetTracker::seen(int32_t partition, int64_t offset) const {
  const Partition* p = slotOf(partition);
  return p != nullptr && offset <= p->highest;
}

bool OffsetTracker::knows(int32_t partition) const {
  const Partition* p = slotOf(partition);
  return p != nullptr && p->highest >= 0;
}

size_t OffsetTracker::pending(int32_t partition) const {
  const Partition* p = slotOf(partition);
  return p == nullptr ? 0 : static_cast<size_t>(p->tail - p->head);
}

int64_t OffsetTracker::committed(int32_t partition) const {
  const Partition* p = slotOf(partition);
  return p == nullptr ? -1 : p->committed;
}

}  // namespace zb::kafka_grpc
