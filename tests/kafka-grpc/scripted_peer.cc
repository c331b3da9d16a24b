#include "scripted_peer.h"

#include <zb/runtime/engine.h>

#include <cstring>
#include <map>

namespace zb::kafka_grpc::spec {
namespace {

std::vector<Peer*>& installed() {
  static std::vector<Peer*> peers;
  return peers;
}

const char* frameName(uint32_t type) {
  switch (type) {
    case ZB_FRAME_BEGIN:
      return "BEGIN";
    case ZB_FRAME_DATA:
      return "DATA";
    case ZB_FRAME_END:
      return "END";
    case ZB_FRAME_ABORT:
      return "ABORT";
    case ZB_FRAME_FLUSH:
      return "FLUSH";
    case ZB_FRAME_RESET:
      return "RESET";
    case ZB_FRAME_WINDOW:
      return "WINDOW";
    case ZB_FRAME_CHALLENGE:
      return "CHALLENGE";
    default:
      return "?";
  }
}

}  // namespace

std::string ReceivedFrame::describe() const {
  std::string out = frameName(type);
  if (type == ZB_FRAME_DATA) {
    out += " flags=" + std::to_string(flags) +
           " payload=" + (null_payload ? std::string("null") : print(Value::string(payload), true));
  }
  if (!ext.kind.empty()) {
    out += " " + ext.kind;
    for (const Field& f : ext.fields) {
      out += " " + f.name + "=" + print(f.value, true);
    }
  }
  return out;
}

// The C hooks of a peer type.
struct PeerGlue {
  static zb_binding_t* bindingNew(zb_host_binding_t* host_binding,
                                  const zb_binding_config_t* config, char* error, size_t capacity) {
    for (Peer* peer : installed()) {
      if (peer->type_ == config->type && peer->host_binding_ == nullptr) {
        peer->host_ = runtime::Engine::hostApi();
        peer->host_binding_ = host_binding;
        peer->type_ids_.kafka = peer->host_->type_id(host_binding, "kafka");
        peer->type_ids_.grpc = peer->host_->type_id(host_binding, "grpc");
        return reinterpret_cast<zb_binding_t*>(peer);
      }
    }
    std::snprintf(error, capacity, "no scripted peer of type %s", config->type);
    return nullptr;
  }
  static void bindingDestroy(zb_binding_t* /*binding*/) {}
  static zb_stream_t* streamNew(zb_binding_t* binding, const zb_frame_t* begin) {
    Peer* peer = reinterpret_cast<Peer*>(binding);
    if (peer->refuse_next > 0) {
      --peer->refuse_next;
      return nullptr;
    }
    peer->streams.push_back(std::make_unique<PeerStream>(*peer, *begin));
    peer->unaccepted.push_back(peer->streams.back().get());
    return reinterpret_cast<zb_stream_t*>(peer->streams.back().get());
  }
  static void frame(zb_binding_t* /*binding*/, zb_stream_t* stream, const zb_frame_t* frame) {
    reinterpret_cast<PeerStream*>(stream)->onFrame(*frame);
  }
  static void streamRelease(zb_binding_t* /*binding*/, zb_stream_t* stream) {
    reinterpret_cast<PeerStream*>(stream)->released = true;
  }
};

const zb_binding_api_t* Peer::api(const char* type_name) {
  static std::map<std::string, zb_binding_api_t> tables;
  zb_binding_api_t& api = tables[type_name];
  std::memset(&api, 0, sizeof api);
  api.abi_major = ZB_ABI_MAJOR;
  api.abi_minor = ZB_ABI_MINOR;
  api.struct_size = sizeof api;
  api.type_name = type_name;
  api.config_schema_json = "{}";
  api.on_binding_new = &PeerGlue::bindingNew;
  api.on_binding_destroy = &PeerGlue::bindingDestroy;
  api.on_stream_new = &PeerGlue::streamNew;
  api.on_frame = &PeerGlue::frame;
  api.on_stream_release = &PeerGlue::streamRelease;
  return &api;
}

void Peer::install(std::vector<Peer*> peers) { installed() = std::move(peers); }

PeerStream::PeerStream(Peer& peer, const zb_frame_t& begin)
    : peer_(peer),
      origin_id_(begin.origin_id),
      routed_id_(begin.routed_id),
      initial_id_(begin.stream_id) {}

void PeerStream::onFrame(const zb_frame_t& frame) {
  if (frame.type == ZB_FRAME_WINDOW) {
    // Credit for what this peer writes.
    out_ack = std::max(out_ack, frame.acknowledge);
    out_max = frame.maximum;
    out_padding = frame.padding;
    out_window = true;
    if (out_ack > out_seq) {
      violations.push_back("WINDOW acknowledges " + std::to_string(out_ack) +
                           " beyond what was sent (" + std::to_string(out_seq) + ")");
    }
    return;
  }
  ReceivedFrame received;
  received.type = frame.type;
  received.stream_id = frame.stream_id;
  received.flags = frame.flags;
  received.sequence = frame.sequence;
  received.reserved = frame.reserved;
  if (frame.type == ZB_FRAME_DATA) {
    received.null_payload = frame.payload == nullptr;
    if (frame.payload != nullptr) {
      received.payload.assign(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
    }
  }
  received.ext = decodeExtension(frame, peer_.typeIds());
  if (frame.type == ZB_FRAME_DATA || frame.type == ZB_FRAME_FLUSH) {
    const int64_t length = frame.payload != nullptr ? int64_t(frame.payload_length) : 0;
    if (frame.reserved > 0 || frame.type == ZB_FRAME_DATA) {
      if (frame.sequence + frame.reserved > in_ack + in_max) {
        violations.push_back(std::string(frameName(frame.type)) + " at " +
                             std::to_string(frame.sequence) + " reserving " +
                             std::to_string(frame.reserved) + " overruns the window (ack " +
                             std::to_string(in_ack) + ", max " + std::to_string(in_max) + ")");
      }
      if (frame.type == ZB_FRAME_DATA && frame.reserved < length + in_padding) {
        violations.push_back("DATA reserved " + std::to_string(frame.reserved) + " < length " +
                             std::to_string(length) + " + padding " + std::to_string(in_padding));
      }
    }
    in_seq = std::max(in_seq, frame.sequence + frame.reserved);
  }
  queue.push_back(std::move(received));
}

zb_frame_t PeerStream::frameOf(uint32_t type, uint64_t stream_id) const {
  zb_frame_t frame = sdk::makeFrame(static_cast<zb_frame_type>(type));
  frame.origin_id = origin_id_;
  frame.routed_id = routed_id_;
  frame.stream_id = stream_id;
  if (stream_id == initial_id_) {
    frame.sequence = in_seq;
    frame.acknowledge = in_ack;
    frame.maximum = in_max;
  } else {
    frame.sequence = out_seq;
    frame.acknowledge = out_ack;
    frame.maximum = out_max;
  }
  return frame;
}

int32_t PeerStream::send(const zb_frame_t& frame) {
  return peer_.host()->stream_send(peer_.hostBinding(), &frame);
}

int32_t PeerStream::sendBegin(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_BEGIN, replyId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t PeerStream::sendData(uint8_t flags, const std::string* payload, const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_DATA, replyId());
  static const uint8_t empty[1] = {0};
  frame.flags = flags;
  if (payload != nullptr) {
    frame.payload = payload->empty() ? empty : reinterpret_cast<const uint8_t*>(payload->data());
    frame.payload_length = payload->size();
  }
  frame.reserved = static_cast<int32_t>(frame.payload_length) + out_padding;
  sdk::setExtension(frame, ext);
  out_seq += frame.reserved;
  return send(frame);
}

int32_t PeerStream::sendFlush(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_FLUSH, replyId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t PeerStream::sendEnd(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_END, replyId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t PeerStream::sendAbort(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_ABORT, replyId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t PeerStream::sendReset(const sdk::Extension& ext) {
  zb_frame_t frame = frameOf(ZB_FRAME_RESET, initialId());
  sdk::setExtension(frame, ext);
  return send(frame);
}

int32_t PeerStream::sendWindow(int32_t maximum, int32_t padding) {
  in_max = maximum;
  in_padding = padding;
  in_ack = std::max(in_ack, consumed);
  window_granted = true;
  zb_frame_t frame = frameOf(ZB_FRAME_WINDOW, initialId());
  frame.padding = padding;
  return send(frame);
}

void PeerStream::acknowledge(int32_t reserved) {
  consumed += reserved;
  if (!manual_ack && window_granted && reserved > 0) {
    sendWindow(in_max, in_padding);
  }
}

}  // namespace zb::kafka_grpc::spec
