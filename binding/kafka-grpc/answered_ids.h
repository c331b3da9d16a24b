// Correlation ids of requests already answered whose call the fetch stream let go before their
// tombstone came (more lingering calls than it keeps whole). A later record of one of them is
// committed and passed to no one, instead of opening a second call for a request answered
// already. Bounded: past `capacity` ids the oldest is forgotten, and add() says so.
//
// Thread: engine.
#pragma once

#include "correlation_index.h"

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace zb::kafka_grpc {

class AnsweredIds {
 public:
  explicit AnsweredIds(size_t capacity) : capacity_(capacity) {}

  // Remembers `id`; returns true when an older id had to be forgotten to make room.
  bool add(std::string_view id) {
    if (index_.find(id) != nullptr) {
      return false;
    }
    bool forgot = false;
    Entry* entry;
    if (ring_.size() < capacity_) {
      entry = &ring_.emplace_back();  // a deque keeps its elements in place: the index points in
    } else {
      entry = &ring_[next_];
      next_ = (next_ + 1) % capacity_;
      if (entry->live) {
        index_.erase(entry);
        forgot = true;
      }
    }
    entry->id.assign(id);
    entry->live = true;
    index_.insert(entry);
    return forgot;
  }

  bool contains(std::string_view id) const { return index_.find(id) != nullptr; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return index_.size() == 0; }

  // The request's tombstone came: nothing more of it will.
  void erase(std::string_view id) {
    if (Entry* entry = index_.find(id)) {
      index_.erase(entry);
      entry->live = false;
    }
  }

  void clear() {
    index_.clear();
    for (Entry& entry : ring_) {
      entry.live = false;
    }
  }

 private:
  struct Entry {
    std::string id;
    bool live = false;
    std::string_view correlationId() const { return id; }
  };

  size_t capacity_;
  std::deque<Entry> ring_;
  size_t next_ = 0;  // the slot reused next once the ring is full
  CorrelationIndex<Entry> index_;
};

}  // namespace zb::kafka_grpc
