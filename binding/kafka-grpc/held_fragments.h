// Request bytes that arrived from Kafka but could not be passed on yet (no gRPC credit, the call
// is waiting for a slot or retrying), per fetch stream.
//
// The store is one buffer of the fetch window's size. Every held fragment costs at most the
// credit its DATA frame reserved (its bytes plus the window's padding, which covers the entry
// header), and that credit is only returned when the fragment is passed on, so the fetch window
// is exactly the bound: the buffer never grows and never overflows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zb::kafka_grpc {

// Where the fragments of one record go (a call, or the dead-letter producer).
class RecordSink {
 public:
  struct Written {
    size_t taken;   // bytes passed on (or dropped on purpose)
    bool complete;  // the whole fragment is done with
  };

  // Passes on as much of a record fragment as credit allows. `deferred` is the number of
  // record bytes after this fragment (meaningful on INIT only).
  virtual Written write(uint8_t flags, int32_t deferred, const uint8_t* data, size_t length) = 0;

  // Whether null payloads (tombstones) are passed on as records; they come to write() with
  // HeldFragments::kNullPayload in flags, no data and length 0.
  virtual bool takesNull() const { return false; }

  // Fragments of this sink waiting in a HeldFragments store.
  uint32_t held() const { return held_; }

 protected:
  ~RecordSink() = default;

 private:
  friend class HeldFragments;
  uint32_t held_ = 0;
};

class HeldFragments {
 public:
  // Bytes an entry costs beyond its payload; the fetch window's padding must be at least this.
  static constexpr size_t kEntryOverhead = 48;
  // A flag bit no DATA frame uses: the fragment is a null payload.
  static constexpr uint8_t kNullPayload = 0x80;

  explicit HeldFragments(size_t capacity);

  // Keeps a fragment for `sink`; `credit` is the fetch credit to return once it is passed on.
  // False when it does not fit (the peer overran the window it was given).
  bool push(RecordSink& sink, uint8_t flags, int32_t deferred, const uint8_t* data, size_t length,
            int32_t credit);

  // Passes on the held fragments of `sink`, oldest first, until one does not go through whole.
  // Returns the fetch credit freed.
  int64_t drain(RecordSink& sink);

  // Drops the held fragments of `sink`; returns the fetch credit freed.
  int64_t drop(RecordSink& sink);

  // Drops everything (the fetch stream is gone).
  void clear();

  // Bytes of the slots still live.
  size_t bytes() const { return used_ - head_ - dead_; }
  bool empty() const { return bytes() == 0; }

 private:
  struct Entry {
    RecordSink* sink;
    uint32_t size;    // bytes of the slot, header included
    uint32_t length;  // payload bytes still held
    int32_t credit;
    int32_t deferred;
    uint8_t flags;
    uint8_t live;
    uint8_t unused[2];
  };
  static_assert(sizeof(Entry) + 7 <= kEntryOverhead);
  // Slots start at multiples of 8 in a buffer from operator new.
  static_assert(alignof(Entry) <= 8 && 8 <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

  static size_t entrySize(size_t length);
  // The entry of the slot at `at`, used in place: copying a whole entry out and back writes it
  // with narrow stores that are then read wide, which the CPU cannot forward (a stall per copy).
  Entry& entryAt(size_t at);
  // Marks `entry` passed on or dropped.
  void retire(Entry& entry);
  // Skips the retired entries at the front; cheap, so it runs after every drain and drop.
  void trimHead();
  // Moves the live entries to the front; only when a push needs the room, so that a drain does
  // not walk the whole buffer each time.
  void compact();

  std::vector<uint8_t> buffer_;
  size_t head_ = 0;  // first slot that may be live
  size_t used_ = 0;  // end of the last slot
  size_t dead_ = 0;  // bytes of retired slots in [head_, used_)
  bool draining_ = false;
};

}  // namespace zb::kafka_grpc
