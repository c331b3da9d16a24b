#include "offset_tracker.h"

namespace zb::kafka_grpc {

OffsetTracker::Handle OffsetTracker::add(int32_t partition, int64_t offset) {
  if (partition < 0) {
    return Handle{};
  }
  if (static_cast<size_t>(partition) >= partitions_.size()) {
    partitions_.resize(static_cast<size_t>(partition) + 1);
  }
  Partition& p = partitions_[static_cast<size_t>(partition)];
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
  return Handle{epoch_, partition, seq};
}

OffsetTracker::Partition* OffsetTracker::find(const Handle& handle) {
  if (!handle.valid() || handle.epoch != epoch_ ||
      static_cast<size_t>(handle.partition) >= partitions_.size()) {
    return nullptr;
  }
  Partition& p = partitions_[static_cast<size_t>(handle.partition)];
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
  for (Partition& p : partitions_) {
    p.head = p.tail = 0;
    p.committed = -1;
  }
  ++epoch_;
}

size_t OffsetTracker::pending(int32_t partition) const {
  if (partition < 0 || static_cast<size_t>(partition) >= partitions_.size()) {
    return 0;
  }
  const Partition& p = partitions_[static_cast<size_t>(partition)];
  return static_cast<size_t>(p.tail - p.head);
}

int64_t OffsetTracker::committed(int32_t partition) const {
  if (partition < 0 || static_cast<size_t>(partition) >= partitions_.size()) {
    return -1;
  }
  return partitions_[static_cast<size_t>(partition)].committed;
}

}  // namespace zb::kafka_grpc
