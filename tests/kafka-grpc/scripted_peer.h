// In-process bindings that play the other sides of kafka-grpc: a `kafka` type and a `grpc` type,
// registered with the engine from plain zb_binding_api_t tables. They accept every stream routed
// to them and keep what the binding under test sends, frame by frame, for a script (or a test)
// to read; they send what they are told, within the credit the binding grants.
//
// Thread: the engine thread (the test's thread).
#pragma once

#include "spec_extensions.h"

#include <zb/abi.h>
#include <zb/sdk/extension.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zb::kafka_grpc::spec {

// A frame the binding sent, copied on arrival.
struct ReceivedFrame {
  uint32_t type = 0;
  uint64_t stream_id = 0;
  uint8_t flags = 0;
  int64_t sequence = 0;
  int32_t reserved = 0;
  bool null_payload = true;
  bool acknowledged = false;  // its credit was already returned
  std::string payload;
  DecodedExtension ext;

  std::string describe() const;
};

class Peer;

class PeerStream {
 public:
  PeerStream(Peer& peer, const zb_frame_t& begin);

  Peer& peer() { return peer_; }
  uint64_t initialId() const { return initial_id_; }
  uint64_t replyId() const { return initial_id_ & ~uint64_t(1); }

  std::string alias;
  bool manual_ack = false;
  std::deque<ReceivedFrame> queue;  // frames not yet read
  std::vector<std::string> violations;
  bool released = false;

  // What the binding sent on the initial direction (the peer reads it).
  int64_t in_seq = 0;
  int64_t in_ack = 0;
  int32_t in_max = 0;
  int32_t in_padding = 0;
  int64_t consumed = 0;  // reserved of frames read so far
  bool window_granted = false;

  // What the peer sends on the reply direction, within the binding's credit.
  int64_t out_seq = 0;
  int64_t out_ack = 0;
  int32_t out_max = 0;
  int32_t out_padding = 0;
  bool out_window = false;
  int64_t credit() const { return out_window ? out_ack + out_max - out_seq : 0; }

  // ---- Sending. Each returns the host's zb_result.
  int32_t sendBegin(const sdk::Extension& ext = {});
  int32_t sendData(uint8_t flags, const std::string* payload, const sdk::Extension& ext = {});
  int32_t sendFlush(const sdk::Extension& ext = {});
  int32_t sendEnd(const sdk::Extension& ext = {});
  int32_t sendAbort(const sdk::Extension& ext = {});
  int32_t sendReset(const sdk::Extension& ext = {});
  // WINDOW on the initial direction: acknowledges `consumed`, with this maximum and padding.
  int32_t sendWindow(int32_t maximum, int32_t padding);
  // Marks `reserved` as read; in auto-ack mode acknowledges it at once.
  void acknowledge(int32_t reserved);

  void onFrame(const zb_frame_t& frame);

 private:
  zb_frame_t frameOf(uint32_t type, uint64_t stream_id) const;
  int32_t send(const zb_frame_t& frame);

  Peer& peer_;
  uint64_t origin_id_;
  uint64_t routed_id_;
  uint64_t initial_id_;
};

// One peer binding (the `kafka` or the `grpc` binding of a scenario).
class Peer {
 public:
  explicit Peer(std::string type) : type_(std::move(type)) {}

  const std::string& type() const { return type_; }
  const zb_host_api_t* host() const { return host_; }
  zb_host_binding_t* hostBinding() const { return host_binding_; }
  const TypeIds& typeIds() const { return type_ids_; }
  sdk::ExtensionWriter& writer() { return writer_; }

  // Streams opened to this peer and not yet accepted by a script, oldest first.
  std::deque<PeerStream*> unaccepted;
  // The next streams opened to this peer that on_stream_new refuses (returns NULL).
  int refuse_next = 0;
  std::vector<std::unique_ptr<PeerStream>> streams;

  // The plain C table of this peer type; `type_name` must outlive the engine.
  static const zb_binding_api_t* api(const char* type_name);
  // The peers the next engine's on_binding_new calls attach to (by type name).
  static void install(std::vector<Peer*> peers);

 private:
  friend struct PeerGlue;
  std::string type_;
  const zb_host_api_t* host_ = nullptr;
  zb_host_binding_t* host_binding_ = nullptr;
  TypeIds type_ids_;
  sdk::ExtensionWriter writer_;
};

}  // namespace zb::kafka_grpc::spec
