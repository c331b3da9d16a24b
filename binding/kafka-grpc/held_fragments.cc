#include "held_fragments.h"

#include <zb/abi.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace zb::kafka_grpc {

HeldFragments::HeldFragments(size_t capacity) : buffer_(capacity) {}

size_t HeldFragments::entrySize(size_t length) { return (sizeof(Entry) + length + 7) & ~size_t(7); }

HeldFragments::Entry& HeldFragments::entryAt(size_t at) {
  return *std::launder(reinterpret_cast<Entry*>(buffer_.data() + at));
}

bool HeldFragments::push(RecordSink& sink, uint8_t flags, int32_t deferred, const uint8_t* data,
                         size_t length, int32_t credit) {
  const size_t size = entrySize(length);
  if (used_ + size > buffer_.size() && !draining_) {
    compact();
  }
  if (used_ + size > buffer_.size()) {
    return false;
  }
  new (buffer_.data() + used_) Entry{
      &sink, static_cast<uint32_t>(size), static_cast<uint32_t>(length), credit, deferred, flags, 1,
      {0, 0}};
  if (length > 0) {
    std::memcpy(buffer_.data() + used_ + sizeof(Entry), data, length);
  }
  used_ += size;
  ++sink.held_;
  return true;
}

int64_t HeldFragments::drain(RecordSink& sink) {
  if (draining_) {
    // A nested delivery (the sink's peer answered inside a write): the outer drain goes on
    // from where it is, and sees this sink's entries as it walks on.
    return 0;
  }
  if (sink.held_ == 0) {
    return 0;
  }
  draining_ = true;
  int64_t freed = 0;
  size_t at = head_;
  while (at < used_ && sink.held_ > 0) {
    Entry& entry = entryAt(at);
    const size_t size = entry.size;
    if (entry.live == 0 || entry.sink != &sink) {
      at += size;
      continue;
    }
    uint8_t* payload = buffer_.data() + at + sizeof(Entry);
    const RecordSink::Written written =
        sink.write(entry.flags, entry.deferred, payload, entry.length);
    // The write may have dropped this sink's entries (the call ended inside it).
    if (entry.live == 0) {
      at += size;
      continue;
    }
    if (written.complete) {
      freed += entry.credit;
      retire(entry);
      at += size;
      continue;
    }
    if (written.taken > 0) {
      // What went out is gone; the tail keeps FIN (if it had it) and loses INIT.
      std::memmove(payload, payload + written.taken, entry.length - written.taken);
      entry.length -= static_cast<uint32_t>(written.taken);
      entry.flags &= static_cast<uint8_t>(~ZB_DATA_INIT);
    }
    break;
  }
  draining_ = false;
  trimHead();
  return freed;
}

int64_t HeldFragments::drop(RecordSink& sink) {
  int64_t freed = 0;
  for (size_t at = head_; at < used_ && sink.held_ > 0;) {
    Entry& entry = entryAt(at);
    if (entry.live != 0 && entry.sink == &sink) {
      freed += entry.credit;
      retire(entry);
    }
    at += entry.size;
  }
  if (!draining_) {
    trimHead();
  }
  return freed;
}

void HeldFragments::clear() {
  for (size_t at = head_; at < used_;) {
    const Entry& entry = entryAt(at);
    if (entry.live != 0) {
      --entry.sink->held_;
    }
    at += entry.size;
  }
  head_ = used_ = dead_ = 0;
}

void HeldFragments::retire(Entry& entry) {
  entry.live = 0;
  --entry.sink->held_;
  dead_ += entry.size;
}

void HeldFragments::trimHead() {
  while (head_ < used_) {
    const Entry& entry = entryAt(head_);
    if (entry.live != 0) {
      return;
    }
    head_ += entry.size;
    dead_ -= entry.size;
  }
  head_ = used_ = dead_ = 0;
}

void HeldFragments::compact() {
  size_t to = 0;
  for (size_t at = head_; at < used_;) {
    // A copy: the move below may overwrite this entry's slot.
    Entry entry = entryAt(at);
    const size_t slot = entry.size;
    if (entry.live != 0) {
      // A partly passed-on entry keeps its slot until here; moving it shrinks the slot.
      entry.size = static_cast<uint32_t>(entrySize(entry.length));
      if (to != at) {
        std::memmove(buffer_.data() + to + sizeof(Entry), buffer_.data() + at + sizeof(Entry),
                     entry.length);
      }
      new (buffer_.data() + to) Entry(entry);
      to += entry.size;
    }
    at += slot;
  }
  head_ = 0;
  dead_ = 0;
  used_ = to;
}

}  // namespace zb::kafka_grpc
