// Which offsets of a fetch stream may be committed.
//
// Kafka commits are a high-water mark per partition, so an offset may only be committed once the
// record at it and every record delivered before it on that partition are done. A record is done
// when it has been received whole (its FIN fragment arrived) and settled (its outcome is final:
// for a request, its call's final status record is acknowledged by the reply topic).
//
// Records are tracked in delivery order per partition in a ring that grows by doubling and never
// shrinks, so steady traffic does not allocate. Partitions get slots in the order they are first
// seen; ids below kDirectIds find their slot by index, larger ones (any int32 is a valid id on the
// wire) through a map, so a huge id costs one slot, not a table as large as the id.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace zb::kafka_grpc {

class OffsetTracker {
 public:
  // A delivered record. Handles from before clear(), or from before forget() of their
  // partition, are ignored by every call.
  struct Handle {
    uint32_t epoch = 0;
    int32_t partition = -1;
    uint32_t slot = 0;
    uint32_t generation = 0;  // of the partition's slot
    uint64_t seq = 0;         // delivery position within the partition
    bool valid() const { return partition >= 0; }
  };

  // The next offset to consume on `partition`: commit it.
  struct Progress {
    int32_t partition;
    int64_t offset;
  };

  // Starts tracking the record delivered at `offset`; offsets must increase per partition.
  // An invalid handle for a negative partition.
  Handle add(int32_t partition, int64_t offset);

  // The record arrived whole / its outcome is final. Returns the new commit point when the
  // lowest unfinished record of the partition moved.
  std::optional<Progress> received(const Handle& handle) { return mark(handle, kReceived); }
  std::optional<Progress> settled(const Handle& handle) { return mark(handle, kSettled); }

  // Forgets every record (the fetch stream was lost); old handles become stale.
  void clear();
  // Forgets the records of one partition (it moved to another consumer, or came back from one):
  // its old handles become stale and its offsets start afresh.
  void forget(int32_t partition);

  // Whether a record at `offset` of `partition` was already delivered since the partition was
  // last forgotten: a record fetched again must not be passed on twice.
  bool seen(int32_t partition, int64_t offset) const;
  // Whether anything of `partition` is known.
  bool knows(int32_t partition) const;

  // Records tracked and not yet committed on `partition`.
  size_t pending(int32_t partition) const;
  // The last commit point returned for `partition`, or -1.
  int64_t committed(int32_t partition) const;
  uint32_t epoch() const { return epoch_; }

 private:
  static constexpr uint8_t kReceived = 1;
  static constexpr uint8_t kSettled = 2;
  static constexpr uint8_t kDone = kReceived | kSettled;

  struct Entry {
    int64_t offset;
    uint8_t state;
  };

  static constexpr int32_t kDirectIds = 1024;

  struct Partition {
    int32_t id = -1;
    std::vector<Entry> ring;  // capacity a power of two
    uint64_t head = 0;        // seq of the oldest tracked record
    uint64_t tail = 0;        // seq the next record gets
    int64_t committed = -1;
    int64_t highest = -1;     // offset of the last record added
    uint32_t generation = 1;  // bumped by forget()
    Entry& at(uint64_t seq) { return ring[seq & (ring.size() - 1)]; }
  };

  std::optional<Progress> mark(const Handle& handle, uint8_t bit);
  Partition* find(const Handle& handle);
  // The slot of partition `id`, or nullptr when it has none.
  const Partition* slotOf(int32_t id) const;

  std::vector<Partition> slots_;
  std::vector<uint32_t> direct_;     // id -> slot + 1 (0: none), for ids below kDirectIds
  std::map<int32_t, uint32_t> far_;  // id -> slot, for the others
  uint32_t epoch_ = 1;
};

}  // namespace zb::kafka_grpc
