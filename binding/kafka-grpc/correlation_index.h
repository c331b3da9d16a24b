// Calls by correlation id, without allocating per lookup or insert: open addressing with linear
// probing over a power-of-two table; the keys are the ids the calls own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace zb::kafka_grpc {

// T has `std::string_view correlationId() const`, stable while T is in the index.
template <typename T>
class CorrelationIndex {
 public:
  CorrelationIndex() : slots_(64, nullptr) {}

  T* find(std::string_view id) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash(id) & mask;; i = (i + 1) & mask) {
      T* entry = slots_[i];
      if (entry == nullptr) {
        return nullptr;
      }
      if (entry->correlationId() == id) {
        return entry;
      }
    }
  }

  // Adds `entry` (its id must not be in the index).
  void insert(T* entry) {
    if ((size_ + 1) * 2 > slots_.size()) {
      grow();
    }
    place(entry);
    ++size_;
  }

  // Removes `entry` if present.
  void erase(T* entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash(entry->correlationId()) & mask;
    for (;; i = (i + 1) & mask) {
      if (slots_[i] == nullptr) {
        return;
      }
      if (slots_[i] == entry) {
        break;
      }
    }
    // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
    slots_[i] = nullptr;
    for (size_t j = (i + 1) & mask; slots_[j] != nullptr; j = (j + 1) & mask) {
      const size_t home = hash(slots_[j]->correlationId()) & mask;
      // Move slots_[j] into the hole at i when its home is not within (i, j] (cyclically).
      const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        slots_[j] = nullptr;
        i = j;
      }
    }
    --size_;
  }

  template <typename F>
  void forEach(F&& f) const {
    for (T* entry : slots_) {
      if (entry != nullptr) {
        f(entry);
      }
    }
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), nullptr);
    size_ = 0;
  }

  size_t size() const { return size_; }

 private:
  static size_t hash(std::string_view id) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : id) {
      h = (h ^ c) * 1099511628211ULL;
    }
    return static_cast<size_t>(h ^ (h >> 29));
  }

  void place(T* entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash(entry->correlationId()) & mask;
    while (slots_[i] != nullptr) {
      i = (i + 1) & mask;
    }
    slots_[i] = entry;
  }

  void grow() {
    std::vector<T*> old(slots_.size() * 2, nullptr);
    old.swap(slots_);
    for (T* entry : old) {
      if (entry != nullptr) {
        place(entry);
      }
    }
  }

  std::vector<T*> slots_;
  size_t size_ = 0;
};

}  // namespace zb::kafka_grpc
