// One stream this binding initiates (a fetch, a gRPC call or a produce), as seen by the object
// that drives it.
//
// A StreamPort is the SDK Stream the host knows; it forwards each frame to its listener. The
// listener outlives nothing: it may detach() at any time and go on with other work, and the port
// then winds its stream down by itself and returns to its pool when the host releases it. That
// keeps the per-exchange objects (calls, producers) free of the host's release timing, and ports
// are recycled through a pool, so opening a stream does not allocate in steady state.
//
// Thread: engine, like everything in this binding.
#pragma once

#include <zb/sdk/binding.hpp>

#include <cstdint>
#include <vector>

namespace zb::kafka_grpc {

class StreamPort;

// Receives the frames of a port. Each hook runs inside the host's delivery of that frame.
class PortListener {
 public:
  virtual void onPortBegin(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortData(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortFlush(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortEnd(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortAbort(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortWindow(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  virtual void onPortReset(StreamPort& /*port*/, const zb_frame_t& /*frame*/) {}
  // The host released the port (both directions closed) while it was still attached: forget it.
  virtual void onPortReleased(StreamPort& /*port*/) {}

 protected:
  ~PortListener() = default;
};

// Brackets every entry into the binding from the host, so that work which must not run inside a
// nested delivery (recycling calls, starting waiting calls) runs when the outermost one returns.
// One outermost entry is a turn; the host clock is read at most once per turn (what happens
// within one delivery is not timed apart).
class EntryScope {
 public:
  void enter() { ++depth_; }
  void leave() {
    if (depth_ == 1) {
      // settle() runs one level deep, so what it sends cannot bring the depth back to zero and
      // re-enter it.
      if (settle_wanted_) {
        settle_wanted_ = false;
        settle();
      }
      turn_clock_read_ = false;
    }
    --depth_;
  }
  bool nested() const { return depth_ > 0; }

  // The host clock as read first in this turn (outside any turn: now).
  int64_t turnNow(const sdk::Host& host) {
    if (depth_ == 0) {
      return host.nowNs();
    }
    if (!turn_clock_read_) {
      turn_now_ns_ = host.nowNs();
      turn_clock_read_ = true;
    }
    return turn_now_ns_;
  }

 protected:
  ~EntryScope() = default;
  // Work for settle() was queued: it runs when the outermost entry returns.
  void wantSettle() { settle_wanted_ = true; }
  virtual void settle() = 0;

 private:
  int depth_ = 0;
  bool settle_wanted_ = false;
  bool turn_clock_read_ = false;
  int64_t turn_now_ns_ = 0;
};

class EntryGuard {
 public:
  explicit EntryGuard(EntryScope& scope) : scope_(scope) { scope_.enter(); }
  ~EntryGuard() { scope_.leave(); }
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;

 private:
  EntryScope& scope_;
};

class PortPool;

class StreamPort final : public sdk::Stream {
 public:
  StreamPort(PortPool& pool, const sdk::Host& host, uint64_t origin_id, uint64_t routed_id,
             PortListener* listener)
      : sdk::Stream(host, origin_id, routed_id), pool_(pool), listener_(listener) {}

  // Opens the stream. On refusal the port is already back in its pool: do not touch it again.
  int32_t open(const sdk::Extension& ext);

  // Stops forwarding frames; the port closes whatever is still open as frames come and returns
  // to its pool once released.
  void detach() { listener_ = nullptr; }
  // Detaches and closes both directions now (ABORT with abort_ext, RESET with reset_ext).
  void cancel(const sdk::Extension& abort_ext = {}, const sdk::Extension& reset_ext = {});

  void onRelease() override;

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onData(const zb_frame_t& frame) override;
  void onFlush(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onWindow(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;

 private:
  void windDown();

  PortPool& pool_;
  PortListener* listener_;
};

// Storage for StreamPorts: a port is constructed in a free slot (a fresh stream id each time) and
// its slot goes back to the free list when the host releases it.
class PortPool {
 public:
  explicit PortPool(EntryScope& scope) : scope_(scope) {}
  ~PortPool();
  PortPool(const PortPool&) = delete;
  PortPool& operator=(const PortPool&) = delete;

  StreamPort* create(const sdk::Host& host, uint64_t origin_id, uint64_t routed_id,
                     PortListener* listener);
  void destroy(StreamPort* port);

  EntryScope& scope() { return scope_; }
  size_t live() const { return live_; }

 private:
  EntryScope& scope_;
  std::vector<void*> free_;
  std::vector<void*> all_;
  size_t live_ = 0;
};

}  // namespace zb::kafka_grpc
