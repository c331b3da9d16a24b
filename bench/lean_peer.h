// Lean in-process peers for benchmarks: bindings of type `kafka` and `grpc` (or any name) that
// accept every stream routed to them and keep only what a driver needs to react — the types,
// flags and credit of the frames the binding under test sent — and send within the credit that
// binding grants. Nothing is copied; streams come from a pool, so steady state allocates nothing.
//
// An optional inspector sees every frame as it arrives (extension included) for checks outside
// the timed loop.
//
// Thread: the engine thread (the benchmark's thread).
#pragma once

#include <zb/abi.h>
#include <zb/sdk/extension.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zb::bench {

// A frame the binding under test sent, as far as a driver cares.
struct SeenFrame {
  uint32_t type = 0;
  uint8_t flags = 0;
  int32_t reserved = 0;
  bool null_payload = true;
};

class LeanPeer;

class LeanStream {
 public:
  static constexpr size_t kSeenCapacity = 16;

  LeanPeer& peer() { return *peer_; }
  uint64_t initialId() const { return initial_id_; }
  uint64_t replyId() const { return ZB_STREAM_REPLY_ID(initial_id_); }

  // Frames not yet read, oldest first; `overflowed` when more arrived than fit.
  const SeenFrame& seen(size_t i) const { return seen_[i]; }
  size_t seenCount() const { return seen_count_; }
  bool overflowed() const { return overflowed_; }
  bool released() const { return released_; }

  // Credit the binding granted for what this peer writes (the reply direction).
  int64_t credit() const { return out_window_ ? out_ack_ + out_max_ - out_seq_ : 0; }

  // ---- Sending; each returns the host's zb_result, or ZB_ERR_INVALID when out of credit.
  int32_t sendBegin(const sdk::Extension& ext = {});
  // payload == nullptr: a null payload (tombstone).
  int32_t sendData(uint8_t flags, const uint8_t* payload, size_t length,
                   const sdk::Extension& ext = {});
  int32_t sendEnd();
  // WINDOW on the initial direction: acknowledges what was read, with this maximum and padding.
  int32_t sendWindow(int32_t maximum, int32_t padding);

  // Marks every seen frame read; when DATA or FLUSH credit was among them, returns it with one
  // WINDOW (frames that arrive meanwhile stay seen).
  int32_t drain();
  // Marks every seen frame read without returning credit.
  void clear() { seen_count_ = 0; }

 private:
  friend class LeanPeer;
  friend struct LeanPeerHooks;

  void open(LeanPeer& peer, const zb_frame_t& begin);
  void onFrame(const zb_frame_t& frame);
  zb_frame_t frameOf(uint32_t type, uint64_t stream_id) const;
  int32_t send(const zb_frame_t& frame);

  LeanPeer* peer_ = nullptr;
  uint64_t origin_id_ = 0;
  uint64_t routed_id_ = 0;
  uint64_t initial_id_ = 0;
  std::array<SeenFrame, kSeenCapacity> seen_{};
  size_t seen_count_ = 0;
  bool overflowed_ = false;
  bool released_ = false;

  // Initial direction (the binding writes, this peer reads).
  int64_t in_seq_ = 0;
  int64_t in_ack_ = 0;
  int32_t in_max_ = 0;
  int32_t in_padding_ = 0;
  int64_t read_ = 0;  // reserved of the frames read

  // Reply direction (this peer writes).
  int64_t out_seq_ = 0;
  int64_t out_ack_ = 0;
  int32_t out_max_ = 0;
  int32_t out_padding_ = 0;
  bool out_window_ = false;
};

class LeanPeer {
 public:
  // Sees each frame delivered to a stream of this peer, before it is recorded.
  using Inspector = void (*)(void* context, LeanStream& stream, const zb_frame_t& frame);

  explicit LeanPeer(std::string type) : type_(std::move(type)) {}
  LeanPeer(const LeanPeer&) = delete;
  LeanPeer& operator=(const LeanPeer&) = delete;

  const std::string& type() const { return type_; }
  uint32_t kafkaTypeId() const { return kafka_type_; }
  uint32_t grpcTypeId() const { return grpc_type_; }

  // The oldest stream opened to this peer and not yet taken, or nullptr.
  LeanStream* accept();

  void inspect(Inspector inspector, void* context) {
    inspector_ = inspector;
    inspector_context_ = context;
  }

  // The plain C table of a peer type. The peer registered under that type with attach() gets
  // every binding the engine declares of the type. `type_name` must outlive the engine.
  static const zb_binding_api_t* api(const char* type_name);
  static void attach(LeanPeer* peer);
  static void detachAll();

 private:
  friend class LeanStream;
  friend struct LeanPeerHooks;

  LeanStream* take();
  void give(LeanStream* stream);

  std::string type_;
  const zb_host_api_t* host_ = nullptr;
  zb_host_binding_t* host_binding_ = nullptr;
  uint32_t kafka_type_ = 0;
  uint32_t grpc_type_ = 0;
  Inspector inspector_ = nullptr;
  void* inspector_context_ = nullptr;

  std::vector<std::unique_ptr<LeanStream>> pool_;
  std::vector<LeanStream*> free_;
  static constexpr size_t kPending = 16;
  std::array<LeanStream*, kPending> pending_{};  // opened, not yet accepted (a ring)
  size_t pending_head_ = 0;
  size_t pending_count_ = 0;
};

}  // namespace zb::bench
