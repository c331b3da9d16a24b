#include "lean_peer.h"

#include <zb/runtime/engine.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

namespace zb::bench {
namespace {

std::vector<LeanPeer*>& attached() {
  static std::vector<LeanPeer*> peers;
  return peers;
}

}  // namespace

struct LeanPeerHooks {
  static zb_binding_t* bindingNew(zb_host_binding_t* host_binding,
                                  const zb_binding_config_t* config, char* error, size_t capacity) {
    for (LeanPeer* peer : attached()) {
      if (peer->type_ == config->type && peer->host_binding_ == nullptr) {
        peer->host_ = runtime::Engine::hostApi();
        peer->host_binding_ = host_binding;
        peer->kafka_type_ = peer->host_->type_id(host_binding, "kafka");
        peer->grpc_type_ = peer->host_->type_id(host_binding, "grpc");
        return reinterpret_cast<zb_binding_t*>(peer);
      }
    }
    std::snprintf(error, capacity, "no lean peer of type %s attached", config->type);
    return nullptr;
  }
  static void bindingDestroy(zb_binding_t* binding) {
    reinterpret_cast<LeanPeer*>(binding)->host_binding_ = nullptr;
  }
  static zb_stream_t* streamNew(zb_binding_t* binding, const zb_frame_t* begin) {
    LeanPeer* peer = reinterpret_cast<LeanPeer*>(binding);
    if (peer->pending_count_ == LeanPeer::kPending) {
      return nullptr;  // the driver stopped accepting: refuse rather than lose track
    }
    LeanStream* stream = peer->take();
    stream->open(*peer, *begin);
    peer->pending_[(peer->pending_head_ + peer->pending_count_) % LeanPeer::kPending] = stream;
    ++peer->pending_count_;
    return reinterpret_cast<zb_stream_t*>(stream);
  }
  static void frame(zb_binding_t* /*binding*/, zb_stream_t* stream, const zb_frame_t* frame) {
    reinterpret_cast<LeanStream*>(stream)->onFrame(*frame);
  }
  static void streamRelease(zb_binding_t* binding, zb_stream_t* stream) {
    LeanStream* lean = reinterpret_cast<LeanStream*>(stream);
    lean->released_ = true;
    reinterpret_cast<LeanPeer*>(binding)->give(lean);
  }
};

const zb_binding_api_t* LeanPeer::api(const char* type_name) {
  static std::map<std::string, zb_binding_api_t> tables;
  zb_binding_api_t& api = tables[type_name];
  std::memset(&api, 0, sizeof api);
  api.abi_major = ZB_ABI_MAJOR;
  api.abi_minor = ZB_ABI_MINOR;
  api.struct_size = sizeof api;
  api.type_name = type_name;
  api.config_schema_json = "{}";
  api.on_binding_new = &LeanPeerHooks::bindingNew;
  api.on_binding_destroy = &LeanPeerHooks::bindingDestroy;
  api.on_stream_new = &LeanPeerHooks::streamNew;
  api.on_frame = &LeanPeerHooks::frame;
  api.on_stream_release = &LeanPeerHooks::streamRelease;
  return &api;
}

void LeanPeer::attach(LeanPeer* peer) { attached().push_back(peer); }

void LeanPeer::detachAll() { attached().clear(); }

LeanStream* LeanPeer::accept() {
  if (pending_count_ == 0) {
    return nullptr;
  }
  LeanStream* stream = pending_[pending_head_];
  pending_head_ = (pending_head_ + 1) % kPending;
  --pending_count_;
  return stream;
}

LeanStream* LeanPeer::take() {
  if (free_.empty()) {
    pool_.push_back(std::make_unique<LeanStream>());
    free_.reserve(pool_.size());
    return pool_.back().get();
  }
  LeanStream* stream = free_.back();
  free_.pop_back();
  return stream;
}

void LeanPeer::give(LeanStream* stream) { free_.push_back(stream); }

void LeanStream::open(LeanPeer& peer, const zb_frame_t& begin) {
  // Every field but the seen frames (dead until written), which a pooled stream keeps.
  seen_count_ = 0;
  overflowed_ = released_ = false;
  in_seq_ = in_ack_ = read_ = 0;
  in_max_ = in_padding_ = 0;
  out_seq_ = out_ack_ = 0;
  out_max_ = out_padding_ = 0;
  out_window_ = false;
  peer_ = &peer;
  origin_id_ = begin.origin_id;
  routed_id_ = begin.routed_id;
  initial_id_ = begin.stream_id;
}

void LeanStream::onFrame(const zb_frame_t& frame) {
  if (peer_->inspector_ != nullptr) {
    peer_->inspector_(peer_->inspector_context_, *this, frame);
  }
  if (frame.type == ZB_FRAME_WINDOW) {
    out_ack_ = std::max(out_ack_, frame.acknowledge);
    out_max_ = frame.maximum;
    out_padding_ = frame.padding;
    out_window_ = true;
    return;
  }
  if (frame.type == ZB_FRAME_DATA || frame.type == ZB_FRAME_FLUSH) {
    in_seq_ = std::max(in_seq_, frame.sequence + frame.reserved);
  }
  if (seen_count_ == kSeenCapacity) {
    overflowed_ = true;
    return;
  }
  SeenFrame& seen = seen_[seen_count_++];
  seen.type = frame.type;
  seen.flags = frame.flags;
  seen.reserved = frame.reserved;
  seen.null_payload = frame.payload == nullptr;
}

zb_frame_t LeanStream::frameOf(uint32_t type, uint64_t stream_id) const {
  zb_frame_t frame = sdk::makeFrame(static_cast<zb_frame_type>(type));
  frame.origin_id = origin_id_;
  frame.routed_id = routed_id_;
  frame.stream_id = stream_id;
  if (stream_id == initial_id_) {
    frame.sequence = in_seq_;
    frame.acknowledge = in_ack_;
    frame.maximum = in_max_;
  } else {
    frame.sequence = out_seq_;
    frame.acknowledge = out_ack_;
    frame.maximum = out_max_;
  }
  return frame;
}

int32_t LeanStream::send(const zb_frame_t& frame) {
  return peer_->host_->stream_send(peer_->host_binding_, &frame);
}

int32_t LeanStream::sendBegin(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_BEGIN, replyId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t LeanStream::sendData(uint8_t flags, const uint8_t* payload, size_t length,
                             const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_DATA, replyId());
  frame.flags = flags;
  frame.payload = payload;
  frame.payload_length = payload != nullptr ? length : 0;
  frame.reserved = static_cast<int32_t>(frame.payload_length) + out_padding_;
  if (frame.reserved > credit()) {
    return ZB_ERR_INVALID;
  }
  sdk::setExtension(frame, ext);
  out_seq_ += frame.reserved;
  return send(frame);
}

int32_t LeanStream::sendEnd() { return send(frameOf(ZB_FRAME_END, replyId())); }

int32_t LeanStream::sendWindow(int32_t maximum, int32_t padding) {
  in_max_ = maximum;
  in_padding_ = padding;
  in_ack_ = std::max(in_ack_, read_);
  zb_frame_t frame = frameOf(ZB_FRAME_WINDOW, initialId());
  frame.padding = padding;
  return send(frame);
}

int32_t LeanStream::drain() {
  int64_t reserved = 0;
  for (size_t i = 0; i < seen_count_; ++i) {
    reserved += seen_[i].reserved;
  }
  read_ += reserved;
  seen_count_ = 0;
  return reserved > 0 ? sendWindow(in_max_, in_padding_) : ZB_OK;
}

}  // namespace zb::bench
