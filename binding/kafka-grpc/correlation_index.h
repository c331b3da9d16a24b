// Calls by correlation id, without allocating per lookup or insert: open addressing with linear
// probing over a power-of-two table; the keys are the ids the calls own.
//
// Each slot keeps its entry's hash, so probing compares ids only when the hashes are equal and
// erasing or growing never hashes an id again. Every exchange looks its id up, inserts and erases
// it, so the hash reads the id eight bytes at a time: ids are typically UUIDs (36 bytes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace zb::kafka_grpc {

// T has `std::string_view correlationId() const`, stable while T is in the index.
template <typename T>
class CorrelationIndex {
 public:
  CorrelationIndex() : slots_(64) {}

  T* find(std::string_view id) const {
    const uint64_t h = hash(id);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.entry == nullptr) {
        return nullptr;
      }
      if (slot.hash == h && slot.entry->correlationId() == id) {
        return slot.entry;
      }
    }
  }

  // Adds `entry` (its id must not be in the index).
  void insert(T* entry) {
    if ((size_ + 1) * 2 > slots_.size()) {
      grow();
    }
    place(Slot{entry, hash(entry->correlationId())});
    ++size_;
  }

  // Removes `entry` if present.
  void erase(T* entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash(entry->correlationId()) & mask;
    for (;; i = (i + 1) & mask) {
      if (slots_[i].entry == nullptr) {
        return;
      }
      if (slots_[i].entry == entry) {
        break;
      }
    }
    // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
    slots_[i] = Slot{};
    for (size_t j = (i + 1) & mask; slots_[j].entry != nullptr; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash & mask;
      // Move slots_[j] into the hole at i when its home is not within (i, j] (cyclically).
      const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        slots_[j] = Slot{};
        i = j;
      }
    }
    --size_;
  }

  template <typename F>
  void forEach(F&& f) const {
    for (const Slot& slot : slots_) {
      if (slot.entry != nullptr) {
        f(slot.entry);
      }
    }
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
  }

  size_t size() const { return size_; }

  // Eight bytes at a time, each folded in with a multiply; a tail is read as the id's last eight
  // bytes (overlapping the previous word), which avoids assembling a partial word byte by byte.
  // Spreads ids that differ in any byte across the table; not meant to resist chosen ids (nor was
  // the byte-wise FNV-1a before it).
  static uint64_t hash(std::string_view id) {
    constexpr uint64_t kMultiplier = 0xff51afd7ed558ccdULL;
    const char* p = id.data();
    const size_t size = id.size();
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ size;
    const auto mix = [&h](uint64_t word) {
      h = (h ^ word) * kMultiplier;
      h ^= h >> 32;
    };
    uint64_t word = 0;
    if (size < 8) {
      for (size_t i = 0; i < size; ++i) {
        word |= uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
      }
      mix(word);
    } else {
      size_t at = 0;
      for (; at + 8 <= size; at += 8) {
        std::memcpy(&word, p + at, 8);
        mix(word);
      }
      if (at < size) {
        std::memcpy(&word, p + size - 8, 8);
        mix(word);
      }
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
  }

 private:
  struct Slot {
    T* entry = nullptr;
    uint64_t hash = 0;
  };

  void place(const Slot& slot) {
    const size_t mask = slots_.size() - 1;
    size_t i = slot.hash & mask;
    while (slots_[i].entry != nullptr) {
      i = (i + 1) & mask;
    }
    slots_[i] = slot;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.entry != nullptr) {
        place(slot);
      }
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace zb::kafka_grpc
