#include "frame_floor.h"

#include "hook_owner.h"

#include <zb/sdk/binding.hpp>

#include <cstring>

namespace zb::bench {
namespace {

// One trivial binding of each side; the floor has one of each.
struct TrivialBinding {
  zb_host_binding_t* host_binding = nullptr;
  uint64_t id = 0;
};

TrivialBinding g_initiator;
TrivialBinding g_acceptor;

const zb_host_api_t* host() { return runtime::Engine::hostApi(); }

zb_binding_t* initiatorNew(zb_host_binding_t* host_binding, const zb_binding_config_t* config,
                           char*, size_t) {
  g_initiator.host_binding = host_binding;
  g_initiator.id = config->id;
  return reinterpret_cast<zb_binding_t*>(&g_initiator);
}

zb_binding_t* acceptorNew(zb_host_binding_t* host_binding, const zb_binding_config_t* config, char*,
                          size_t) {
  g_acceptor.host_binding = host_binding;
  g_acceptor.id = config->id;
  return reinterpret_cast<zb_binding_t*>(&g_acceptor);
}

void destroy(zb_binding_t*) {}

zb_stream_t* acceptorStreamNew(zb_binding_t* binding, const zb_frame_t*) {
  return reinterpret_cast<zb_stream_t*>(binding);  // no per-stream state
}

zb_stream_t* refuseStream(zb_binding_t*, const zb_frame_t*) { return nullptr; }

void ignoreFrame(zb_binding_t*, zb_stream_t*, const zb_frame_t*) {}
void ignoreRelease(zb_binding_t*, zb_stream_t*) {}

// Answers each frame with one frame back, as cheaply as a binding can.
void acceptorFrame(zb_binding_t*, zb_stream_t*, const zb_frame_t* frame) {
  zb_frame_t answer = sdk::makeFrame(ZB_FRAME_BEGIN);
  answer.origin_id = frame->origin_id;
  answer.routed_id = frame->routed_id;
  switch (frame->type) {
    case ZB_FRAME_BEGIN:
      answer.stream_id = ZB_STREAM_REPLY_ID(frame->stream_id);
      break;
    case ZB_FRAME_DATA:
      answer.type = ZB_FRAME_WINDOW;
      answer.stream_id = frame->stream_id;
      answer.acknowledge = frame->sequence + frame->reserved;
      answer.maximum = 65536;
      break;
    case ZB_FRAME_END:
      answer.type = ZB_FRAME_END;
      answer.stream_id = ZB_STREAM_REPLY_ID(frame->stream_id);
      break;
    default:
      return;
  }
  host()->stream_send(g_acceptor.host_binding, &answer);
}

zb_binding_api_t tableOf(const char* type_name, bool acceptor) {
  zb_binding_api_t api;
  std::memset(&api, 0, sizeof api);
  api.abi_major = ZB_ABI_MAJOR;
  api.abi_minor = ZB_ABI_MINOR;
  api.struct_size = sizeof api;
  api.type_name = type_name;
  api.config_schema_json = "{}";
  api.on_binding_new = acceptor ? &acceptorNew : &initiatorNew;
  api.on_binding_destroy = &destroy;
  api.on_stream_new = acceptor ? &acceptorStreamNew : &refuseStream;
  api.on_frame = acceptor ? &acceptorFrame : &ignoreFrame;
  api.on_stream_release = &ignoreRelease;
  return api;
}

zb_binding_api_t g_initiator_api = tableOf("floor-initiator", false);
zb_binding_api_t g_acceptor_api = tableOf("floor-acceptor", true);

}  // namespace

FrameFloor::FrameFloor() : engine_(log_) {}

FrameFloor::~FrameFloor() { engine_.shutdown(); }

bool FrameFloor::start(std::string& error) {
  // Wrapped like the exchange's tables, so both pay the same bookkeeping per hook call.
  if (!engine_.addType(OwnedHooks<10>::wrap(&g_initiator_api, kPeer), error) ||
      !engine_.addType(OwnedHooks<11>::wrap(&g_acceptor_api, kPeer), error)) {
    return false;
  }
  runtime::BindingDeclaration declaration;
  declaration.namespace_name = "floor";
  declaration.name = "initiator";
  declaration.type = "floor-initiator";
  declaration.kind = "client";
  if (engine_.declare(declaration, error) == 0) {
    return false;
  }
  declaration.name = "acceptor";
  declaration.type = "floor-acceptor";
  declaration.kind = "server";
  acceptor_id_ = engine_.declare(declaration, error);
  if (acceptor_id_ == 0 || !engine_.create(error)) {
    return false;
  }
  engine_.start();
  return true;
}

bool FrameFloor::round(int streams, int frames) {
  static const uint8_t payload[16] = {0x0a, 0x0b};
  const int bounces = frames - 4 * streams;  // DATA + WINDOW pairs, and maybe one FLUSH
  int pairs = bounces > 0 ? bounces / 2 : 0;
  bool flush = bounces > 0 && bounces % 2 != 0;
  zb_host_binding_t* const hb = g_initiator.host_binding;
  for (int s = 0; s < streams; ++s) {
    zb_frame_t frame = sdk::makeFrame(ZB_FRAME_BEGIN);
    frame.origin_id = g_initiator.id;
    frame.routed_id = acceptor_id_;
    frame.stream_id = host()->stream_id(hb, acceptor_id_);
    if (host()->stream_begin(hb, reinterpret_cast<zb_stream_t*>(&g_initiator), &frame) != ZB_OK) {
      return false;
    }
    const int mine = s + 1 == streams ? pairs : pairs / (streams - s);
    pairs -= mine;
    frame.type = ZB_FRAME_DATA;
    frame.flags = ZB_DATA_COMPLETE;
    frame.payload = payload;
    frame.payload_length = sizeof payload;
    frame.reserved = sizeof payload;
    for (int i = 0; i < mine; ++i) {
      if (host()->stream_send(hb, &frame) != ZB_OK) {
        return false;
      }
      frame.sequence += frame.reserved;
    }
    if (flush) {
      flush = false;
      zb_frame_t flush_frame = frame;
      flush_frame.type = ZB_FRAME_FLUSH;
      flush_frame.payload = nullptr;
      flush_frame.payload_length = 0;
      flush_frame.reserved = 0;
      if (host()->stream_send(hb, &flush_frame) != ZB_OK) {
        return false;
      }
    }
    zb_frame_t end = sdk::makeFrame(ZB_FRAME_END);
    end.origin_id = frame.origin_id;
    end.routed_id = frame.routed_id;
    end.stream_id = frame.stream_id;
    end.sequence = frame.sequence;
    if (host()->stream_send(hb, &end) != ZB_OK) {
      return false;
    }
  }
  return true;
}

}  // namespace zb::bench
