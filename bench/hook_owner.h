// Whose code the engine thread is running: the binding under test, a peer, or the driver (the
// benchmark loop, and the engine's routing of the frames the driver sends).
//
// Every hook table in a benchmark engine is wrapped (OwnedHooks) so that each hook call sets the
// owner for its duration. What happens meanwhile is charged to that owner: heap allocations
// (counted by the benchmark's replacement operator new) and, when timing is on, TSC ticks. The
// engine's routing of a frame is charged to whoever sent it, because it runs inside the sender's
// hook; deferred stream releases are charged to the binding whose on_stream_release runs.
//
// Thread: the engine thread (the benchmark's thread); the ledger is thread-local.
#pragma once

#include <zb/abi.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <chrono>
#endif

#include <cstdint>

namespace zb::bench {

// The clock of attribution: the TSC where there is one (a few ns to read), else the steady clock.
inline uint64_t readTicks() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

enum Owner : int { kDriver = 0, kBinding = 1, kPeer = 2, kOwners = 3 };

struct OwnerLedger {
  int owner = kDriver;
  bool timing = false;
  uint64_t last_tick = 0;
  uint64_t ticks[kOwners] = {};
  // Intervals started per owner while timing: each carries about one clock read of overhead.
  uint64_t intervals[kOwners] = {};
  uint64_t allocations[kOwners] = {};
  uint64_t preempted = 0;  // intervals dropped as too long to be anything but preemption
  uint64_t frames = 0;     // on_frame deliveries to any wrapped binding
  uint64_t streams = 0;    // on_stream_new calls to any wrapped binding

  void reset() {
    for (int i = 0; i < kOwners; ++i) {
      ticks[i] = intervals[i] = allocations[i] = 0;
    }
    preempted = frames = streams = 0;
    last_tick = readTicks();
  }
};

inline thread_local OwnerLedger t_ledger;

// No hook interval of an exchange takes this long (about 20 us at TSC rates) unless the thread
// lost its core meanwhile (other processes, the hypervisor): such an interval is dropped.
constexpr uint64_t kPreemptedTicks = 50000;

inline void switchOwner(int next) {
  OwnerLedger& ledger = t_ledger;
  if (ledger.timing) {
    const uint64_t now = readTicks();
    const uint64_t elapsed = now - ledger.last_tick;
    if (elapsed < kPreemptedTicks) {
      ledger.ticks[ledger.owner] += elapsed;
    } else {
      ++ledger.preempted;
    }
    ledger.last_tick = now;
    ++ledger.intervals[next];
  }
  ledger.owner = next;
}

class OwnerScope {
 public:
  explicit OwnerScope(int owner) : saved_(t_ledger.owner) { switchOwner(owner); }
  ~OwnerScope() { switchOwner(saved_); }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  int saved_;
};

// A copy of a hook table whose every hook runs the original with the owner set. One Slot per
// wrapped table (the original and owner are per instantiation).
template <int Slot>
struct OwnedHooks {
  static inline const zb_binding_api_t* original = nullptr;
  static inline int owner = kDriver;
  static inline zb_binding_api_t table;

  static zb_binding_t* bindingNew(zb_host_binding_t* h, const zb_binding_config_t* c, char* e,
                                  size_t n) {
    OwnerScope scope(owner);
    return original->on_binding_new(h, c, e, n);
  }
  static void bindingStart(zb_binding_t* b) {
    OwnerScope scope(owner);
    original->on_binding_start(b);
  }
  static void bindingStop(zb_binding_t* b) {
    OwnerScope scope(owner);
    original->on_binding_stop(b);
  }
  static void bindingDestroy(zb_binding_t* b) {
    OwnerScope scope(owner);
    original->on_binding_destroy(b);
  }
  static zb_stream_t* streamNew(zb_binding_t* b, const zb_frame_t* f) {
    OwnerScope scope(owner);
    ++t_ledger.streams;
    return original->on_stream_new(b, f);
  }
  static void frame(zb_binding_t* b, zb_stream_t* s, const zb_frame_t* f) {
    OwnerScope scope(owner);
    ++t_ledger.frames;
    original->on_frame(b, s, f);
  }
  static void streamRelease(zb_binding_t* b, zb_stream_t* s) {
    OwnerScope scope(owner);
    original->on_stream_release(b, s);
  }
  static void signal(zb_binding_t* b, const zb_frame_t* f) {
    OwnerScope scope(owner);
    original->on_signal(b, f);
  }

  static const zb_binding_api_t* wrap(const zb_binding_api_t* api, int as) {
    original = api;
    owner = as;
    table = *api;
    table.on_binding_new = &bindingNew;
    table.on_binding_start = api->on_binding_start != nullptr ? &bindingStart : nullptr;
    table.on_binding_stop = api->on_binding_stop != nullptr ? &bindingStop : nullptr;
    table.on_binding_destroy = &bindingDestroy;
    table.on_stream_new = &streamNew;
    table.on_frame = &frame;
    table.on_stream_release = &streamRelease;
    table.on_signal = api->on_signal != nullptr ? &signal : nullptr;
    return &table;
  }
};

}  // namespace zb::bench
