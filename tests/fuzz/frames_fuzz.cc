// frames_fuzz: the kafka-grpc binding in a real engine, driven by fuzzed peers.
//
// Each input declares a `kafka` peer, a `grpc` peer and the kafka-grpc binding (options from the
// input's first byte) in a fresh zb::runtime::Engine, starts them, and plays the ops that follow
// (frames_ops.h): records on the fetch streams, well-formed or with fuzzed flags, payloads and
// extensions; answers from the grpc peer; windows, ENDs, ABORTs and RESETs from both; any frame at
// all with any sequence, acknowledge, maximum and reserved; time passing. Then the engine shuts
// down, releasing everything.
//
// The binding is the code of libbinding-kafka-grpc.so compiled into this executable (its
// zb_binding_init, registered with Engine::addType), so that libFuzzer sees its coverage. The host
// table it receives is the engine's, except the clock: time is virtual, so that retries, deadlines
// and reopening run in microseconds and every run is reproducible.
//
// Properties checked, beyond "no crash, leak, hang or undefined behaviour":
//   - the binding never writes beyond the credit a peer granted: every DATA and FLUSH it sends
//     has sequence = the direction's position so far, reserved >= length + padding, and
//     sequence + reserved <= acknowledge + maximum of the peer's WINDOWs;
//   - every extension it sends verifies as its peer's type; BEGINs carry MergedBeginEx (kafka)
//     or BeginEx (grpc), BASE64 metadata is base64 text, produce topics are not empty, INIT
//     fragments carry ProduceDataEx / DataEx;
//   - no hook throws (the SDK would log "uncaught exception");
//   - timers do not spin (a few thousand firings without time passing is a storm);
//   - while every peer frame was well-formed: a WINDOW never acknowledges bytes not sent, and
//     commits on a fetch stream never go backwards nor past the records delivered.
//
// Fixed findings, kept as regression seeds in tests/fuzz/corpus/frames_fuzz (docs/fuzzing.md):
// a WINDOW with negative padding moving a writer's sequence backwards (the engine refuses it),
// a huge partition id sizing the OffsetTracker's table by the id (slots are now per partition).
#include "frames_ops.h"

#include <zb/abi.h>
#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>
#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

extern "C" const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                   size_t error_capacity);

namespace zb::fuzz {
namespace {

namespace kafka = zb::kafka;
namespace grpc = zb::grpc;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr size_t kMaxOps = 400;
constexpr int kPartitions = 3;
constexpr int kTimerStorm = 5000;

[[noreturn]] void violation(const char* format, ...) __attribute__((format(printf, 1, 2)));
void violation(const char* format, ...) {
  std::fprintf(stderr, "frames_fuzz: property violated: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::abort();
}

// ---- The input.

class Input {
 public:
  Input(const uint8_t* data, size_t size) : at_(data), end_(data + size) {}
  bool empty() const { return at_ >= end_; }
  uint8_t u8() { return at_ < end_ ? *at_++ : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16() | (uint32_t(u16()) << 16)); }
  uint64_t u64() { return u32() | (uint64_t(u32()) << 32); }
  std::string_view bytes() {
    const size_t n = std::min<size_t>(u8(), static_cast<size_t>(end_ - at_));
    const std::string_view out(reinterpret_cast<const char*>(at_), n);
    at_ += n;
    return out;
  }

 private:
  const uint8_t* at_;
  const uint8_t* end_;
};

// ---- Virtual time: the binding's clock and timers.

struct VirtualTimer {
  uint64_t id;
  int64_t at;
  zb_host_binding_t* owner;
  uint64_t stream_id;
  int32_t signal_id;
};

struct Clock {
  int64_t now = 0;
  uint64_t next_id = 1;
  std::vector<VirtualTimer> timers;
};

Clock g_clock;
runtime::Engine* g_engine = nullptr;
bool g_raw = false;  // some peer frame of this input was not well-formed

// ZB_FUZZ_TRACE=1: every frame and log line on stderr, to read what a reproducer does.
bool tracing() {
  static const bool on = [] {
    const char* value = std::getenv("ZB_FUZZ_TRACE");
    return value != nullptr && value[0] == '1';
  }();
  return on;
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
    case ZB_FRAME_SIGNAL:
      return "SIGNAL";
    case ZB_FRAME_CHALLENGE:
      return "CHALLENGE";
    default:
      return "?";
  }
}

void trace(const char* arrow, const char* peer, const zb_frame_t& frame, int32_t result = 0) {
  if (!tracing()) {
    return;
  }
  std::fprintf(stderr,
               "%s %-5s stream %llu %-6s flags %u seq %lld ack %lld max %d pad %d reserved %d "
               "payload %s%zu ext %u/%u%s\n",
               arrow, peer, static_cast<unsigned long long>(frame.stream_id), frameName(frame.type),
               frame.flags, static_cast<long long>(frame.sequence),
               static_cast<long long>(frame.acknowledge), frame.maximum, frame.padding,
               frame.reserved, frame.payload == nullptr ? "null " : "", frame.payload_length,
               frame.extension_type_id, frame.extension_length, result != 0 ? " (refused)" : "");
}

const zb_host_api_t& engineHost() { return *runtime::Engine::hostApi(); }

int64_t virtualNow(zb_host_binding_t*) { return g_clock.now; }

uint64_t virtualSignalAt(zb_host_binding_t* owner, int64_t at, uint64_t stream_id,
                         int32_t signal_id) {
  const uint64_t id = g_clock.next_id++;
  g_clock.timers.push_back(VirtualTimer{id, at, owner, stream_id, signal_id});
  return id;
}

void virtualSignalCancel(zb_host_binding_t*, uint64_t id) {
  std::erase_if(g_clock.timers, [id](const VirtualTimer& timer) { return timer.id == id; });
}

// The engine's table with the clock replaced.
const zb_host_api_t* bindingHost() {
  static const zb_host_api_t table = [] {
    zb_host_api_t api = engineHost();
    api.now_ns = &virtualNow;
    api.signal_at = &virtualSignalAt;
    api.signal_cancel = &virtualSignalCancel;
    return api;
  }();
  return &table;
}

// Moves time on and fires what is due, earliest first, each through the engine (as a timer due
// now), so the binding's hooks run inside the engine's scope like any other signal.
void advance(int64_t ns) {
  g_clock.now += ns;
  for (int fired = 0;; ++fired) {
    auto due = g_clock.timers.end();
    for (auto it = g_clock.timers.begin(); it != g_clock.timers.end(); ++it) {
      if (it->at <= g_clock.now && (due == g_clock.timers.end() || it->at < due->at)) {
        due = it;
      }
    }
    if (due == g_clock.timers.end()) {
      return;
    }
    if (fired == kTimerStorm) {
      violation("%d timers fired without time passing (signal %d)", kTimerStorm, due->signal_id);
    }
    const VirtualTimer timer = *due;
    g_clock.timers.erase(due);
    if (tracing()) {
      std::fprintf(stderr, "   timer %d fires (stream %llu)\n", timer.signal_id,
                   static_cast<unsigned long long>(timer.stream_id));
    }
    engineHost().signal_at(timer.owner, 0, timer.stream_id, timer.signal_id);
    g_engine->poll();
  }
}

// ---- The peers.

enum class Kind : uint8_t { kFetch, kProduce, kCall, kUnknown };

class Peer;

// A message going out on a reply direction in fragments, as credit allows.
struct Outgoing {
  bool active = false;
  std::string rest;
  size_t fragment = 0;
};

struct PeerStream {
  PeerStream(Peer& owner, const zb_frame_t& begin)
      : peer(owner),
        origin_id(begin.origin_id),
        routed_id(begin.routed_id),
        initial_id(begin.stream_id) {}

  zb_stream_t* handle() { return reinterpret_cast<zb_stream_t*>(this); }
  uint64_t replyId() const { return ZB_STREAM_REPLY_ID(initial_id); }
  int64_t credit() const { return out_window ? out_ack + out_max - out_seq : 0; }
  bool usable() const { return !released; }

  void onFrame(const zb_frame_t& frame);
  void onWrite(const zb_frame_t& frame);

  Peer& peer;
  uint64_t origin_id;
  uint64_t routed_id;
  uint64_t initial_id;
  Kind kind = Kind::kUnknown;
  std::string topic;  // kafka streams
  bool released = false;

  // The initial direction: the binding writes, this peer reads and grants.
  int64_t in_seq = 0;
  int64_t in_ack = 0;
  int32_t in_max = 0;
  int32_t in_padding = 0;
  int64_t in_edge = 0;  // the furthest acknowledge + maximum ever granted
  bool initial_closed = false;

  // The reply direction: this peer writes within the binding's credit.
  int64_t out_seq = 0;
  int64_t out_ack = 0;
  int32_t out_max = 0;
  int32_t out_padding = 0;
  bool out_window = false;
  bool reply_begun = false;
  bool reply_closed = false;

  // Fetch streams: the next offset per partition, and the commits seen.
  std::array<int64_t, kPartitions> next_offset{};
  std::array<int64_t, kPartitions> committed{};

  Outgoing outgoing;
};

class Peer {
 public:
  explicit Peer(const char* type) : type_(type) {}

  const char* type() const { return type_; }
  uint32_t ownType() const { return std::strcmp(type_, "kafka") == 0 ? kafka_type : grpc_type; }

  zb_host_binding_t* host_binding = nullptr;
  uint32_t kafka_type = 0;
  uint32_t grpc_type = 0;
  bool refuse_next = false;
  std::vector<std::unique_ptr<PeerStream>> streams;

  void reset() {
    host_binding = nullptr;
    refuse_next = false;
    std::vector<std::unique_ptr<PeerStream>>().swap(streams);
  }

  // The n-th (mod count) open stream of `kind`, or nullptr.
  PeerStream* pick(uint8_t n, Kind kind) {
    size_t count = 0;
    for (const auto& stream : streams) {
      count += stream->usable() && stream->kind == kind ? 1 : 0;
    }
    if (count == 0) {
      return nullptr;
    }
    size_t index = n % count;
    for (const auto& stream : streams) {
      if (stream->usable() && stream->kind == kind && index-- == 0) {
        return stream.get();
      }
    }
    return nullptr;
  }
  PeerStream* pickAny(uint8_t n) {
    return streams.empty() ? nullptr : streams[n % streams.size()].get();
  }

  // C hooks.
  static zb_binding_t* bindingNew(zb_host_binding_t* host_binding,
                                  const zb_binding_config_t* config, char* error, size_t capacity);
  static void bindingDestroy(zb_binding_t*) {}
  static zb_stream_t* streamNew(zb_binding_t* binding, const zb_frame_t* begin);
  static void frame(zb_binding_t*, zb_stream_t* stream, const zb_frame_t* frame) {
    reinterpret_cast<PeerStream*>(stream)->onFrame(*frame);
  }
  static void streamRelease(zb_binding_t*, zb_stream_t* stream) {
    reinterpret_cast<PeerStream*>(stream)->released = true;
  }
  static const zb_binding_api_t* api(const char* type_name);

 private:
  const char* type_;
};

Peer g_kafka("kafka");
Peer g_grpc("grpc");

zb_binding_t* Peer::bindingNew(zb_host_binding_t* host_binding, const zb_binding_config_t* config,
                               char* error, size_t capacity) {
  Peer* peer = std::strcmp(config->type, "kafka") == 0 ? &g_kafka : &g_grpc;
  peer->host_binding = host_binding;
  peer->kafka_type = engineHost().type_id(host_binding, "kafka");
  peer->grpc_type = engineHost().type_id(host_binding, "grpc");
  return reinterpret_cast<zb_binding_t*>(peer);
}

const zb_binding_api_t* Peer::api(const char* type_name) {
  static zb_binding_api_t tables[2];
  zb_binding_api_t& api = tables[std::strcmp(type_name, "kafka") == 0 ? 0 : 1];
  std::memset(&api, 0, sizeof api);
  api.abi_major = ZB_ABI_MAJOR;
  api.abi_minor = ZB_ABI_MINOR;
  api.struct_size = sizeof api;
  api.type_name = type_name;
  api.config_schema_json = "{}";
  api.on_binding_new = &Peer::bindingNew;
  api.on_binding_destroy = &Peer::bindingDestroy;
  api.on_stream_new = &Peer::streamNew;
  api.on_frame = &Peer::frame;
  api.on_stream_release = &Peer::streamRelease;
  return &api;
}

bool isBase64Text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
  });
}

zb_stream_t* Peer::streamNew(zb_binding_t* binding, const zb_frame_t* begin) {
  Peer& peer = *reinterpret_cast<Peer*>(binding);
  trace("<-", peer.type(), *begin);
  if (peer.refuse_next) {
    peer.refuse_next = false;
    return nullptr;
  }
  auto stream = std::make_unique<PeerStream>(peer, *begin);
  if (&peer == &g_kafka) {
    const kafka::KafkaExtension* ext = sdk::readKafka(*begin, peer.kafka_type);
    const kafka::MergedBeginEx* merged = ext != nullptr ? ext->ex_as_MergedBeginEx() : nullptr;
    if (merged == nullptr) {
      violation("a kafka stream BEGIN without MergedBeginEx");
    }
    if (merged->topic() == nullptr || merged->topic()->size() == 0) {
      violation("a kafka stream BEGIN without a topic");
    }
    stream->topic.assign(merged->topic()->c_str(), merged->topic()->size());
    if (merged->capabilities() == kafka::Capabilities::FETCH_ONLY) {
      stream->kind = Kind::kFetch;
      stream->committed.fill(0);
    } else if (merged->capabilities() == kafka::Capabilities::PRODUCE_ONLY) {
      stream->kind = Kind::kProduce;
    } else {
      violation("a kafka stream BEGIN with capabilities %d",
                static_cast<int>(merged->capabilities()));
    }
  } else {
    const grpc::GrpcExtension* ext = sdk::readGrpc(*begin, peer.grpc_type);
    const grpc::BeginEx* call = ext != nullptr ? ext->ex_as_BeginEx() : nullptr;
    if (call == nullptr) {
      violation("a grpc call BEGIN without BeginEx");
    }
    if (call->metadata() != nullptr) {
      for (const grpc::Metadata* entry : *call->metadata()) {
        if (entry->type() == grpc::MetadataType::BASE64 &&
            !isBase64Text(sdk::bytesOf(entry->value()))) {
          violation("a call's BASE64 metadata is not base64 text");
        }
      }
    }
    stream->kind = Kind::kCall;
  }
  peer.streams.push_back(std::move(stream));
  return peer.streams.back()->handle();
}

volatile unsigned g_checksum = 0;  // keeps the reads of touch()

// Reads every byte a frame points at (ASan checks the borrowed buffers) and checks its extension.
void touch(const zb_frame_t& frame, const Peer& peer) {
  unsigned sum = 0;
  if (frame.payload_length > 0 && frame.payload == nullptr) {
    violation("a frame with length %zu and no payload", frame.payload_length);
  }
  for (size_t i = 0; frame.payload != nullptr && i < frame.payload_length; ++i) {
    sum += frame.payload[i];
  }
  for (uint32_t i = 0; frame.extension != nullptr && i < frame.extension_length; ++i) {
    sum += frame.extension[i];
  }
  g_checksum = g_checksum + sum;
  if (frame.extension_type_id != ZB_EXTENSION_NONE) {
    if (frame.extension_type_id != peer.ownType()) {
      violation("a frame to the %s peer with extension type %u", peer.type(),
                frame.extension_type_id);
    }
    const bool verified = frame.extension_type_id == peer.kafka_type
                              ? sdk::readKafka(frame, peer.kafka_type) != nullptr
                              : sdk::readGrpc(frame, peer.grpc_type) != nullptr;
    if (!verified) {
      violation("an extension from the binding does not verify (frame type %x)", frame.type);
    }
  }
}

void PeerStream::onFrame(const zb_frame_t& frame) {
  trace("<-", peer.type(), frame);
  touch(frame, peer);
  if (frame.stream_id == initial_id) {
    onWrite(frame);
    return;
  }
  // The binding reads the reply direction: WINDOW, RESET or CHALLENGE.
  switch (frame.type) {
    case ZB_FRAME_WINDOW:
      if (!g_raw && frame.acknowledge > out_seq) {
        violation("WINDOW acknowledges %lld, only %lld sent",
                  static_cast<long long>(frame.acknowledge), static_cast<long long>(out_seq));
      }
      out_ack = std::max(out_ack, frame.acknowledge);
      out_max = frame.maximum;
      out_padding = frame.padding;
      out_window = true;
      break;
    case ZB_FRAME_RESET:
      reply_closed = true;
      break;
    default:
      break;
  }
}

void PeerStream::onWrite(const zb_frame_t& frame) {
  switch (frame.type) {
    case ZB_FRAME_BEGIN:
      break;
    case ZB_FRAME_DATA:
    case ZB_FRAME_FLUSH: {
      const int64_t length = frame.payload != nullptr ? int64_t(frame.payload_length) : 0;
      if (frame.sequence != in_seq) {
        violation("%s at sequence %lld, the direction is at %lld",
                  frame.type == ZB_FRAME_DATA ? "DATA" : "FLUSH",
                  static_cast<long long>(frame.sequence), static_cast<long long>(in_seq));
      }
      if (frame.reserved < 0 ||
          (frame.type == ZB_FRAME_DATA && frame.reserved < length + in_padding)) {
        violation("%s reserves %d for %lld bytes with padding %d",
                  frame.type == ZB_FRAME_DATA ? "DATA" : "FLUSH", frame.reserved,
                  static_cast<long long>(length), in_padding);
      }
      // A WINDOW may shrink the credit below what is outstanding; a frame that reserves nothing
      // is then judged against the furthest edge granted (the SDK's SendWindow lets it go, as it
      // takes no credit; its ReceiveWindow would refuse it: see docs/fuzzing.md).
      const int64_t edge =
          frame.reserved > 0 ? in_ack + in_max : std::max(in_ack + in_max, in_edge);
      if (frame.sequence + frame.reserved > edge) {
        violation(
            "%s at %lld reserving %d overruns the credit granted (acknowledge %lld, "
            "maximum %d) on a %s stream",
            frame.type == ZB_FRAME_DATA ? "DATA" : "FLUSH", static_cast<long long>(frame.sequence),
            frame.reserved, static_cast<long long>(in_ack), in_max,
            kind == Kind::kFetch     ? "fetch"
            : kind == Kind::kProduce ? "produce"
                                     : "call");
      }
      in_seq = frame.sequence + frame.reserved;
      if (frame.type == ZB_FRAME_DATA && (frame.flags & ZB_DATA_INIT) != 0) {
        if (kind == Kind::kProduce) {
          const kafka::KafkaExtension* ext = sdk::readKafka(frame, peer.kafka_type);
          if (ext == nullptr || ext->ex_as_ProduceDataEx() == nullptr) {
            violation("a produce INIT fragment without ProduceDataEx");
          }
        } else if (kind == Kind::kCall) {
          const grpc::GrpcExtension* ext = sdk::readGrpc(frame, peer.grpc_type);
          if (ext == nullptr || ext->ex_as_DataEx() == nullptr) {
            violation("a request INIT fragment without DataEx");
          }
        }
      }
      if (frame.type == ZB_FRAME_FLUSH && kind == Kind::kFetch) {
        const kafka::KafkaExtension* ext = sdk::readKafka(frame, peer.kafka_type);
        const kafka::ConsumerFlushEx* flush =
            ext != nullptr ? ext->ex_as_ConsumerFlushEx() : nullptr;
        if (flush == nullptr || flush->progress() == nullptr) {
          violation("a fetch FLUSH without ConsumerFlushEx progress");
        }
        const int partition = flush->progress()->partition_id();
        const int64_t offset = flush->progress()->partition_offset();
        if (!g_raw) {
          if (partition < 0 || partition >= kPartitions) {
            violation("a commit for partition %d, never delivered", partition);
          }
          if (offset > next_offset[partition] || offset < committed[partition]) {
            violation("a commit of partition %d at %lld: committed %lld, delivered up to %lld",
                      partition, static_cast<long long>(offset),
                      static_cast<long long>(committed[partition]),
                      static_cast<long long>(next_offset[partition]));
          }
          committed[partition] = offset;
        }
      }
      break;
    }
    case ZB_FRAME_END:
    case ZB_FRAME_ABORT:
      initial_closed = true;
      break;
    default:
      break;
  }
}

// ---- Sending, as a peer.

zb_frame_t frameOn(const PeerStream& stream, zb_frame_type type, uint64_t stream_id) {
  zb_frame_t frame = sdk::makeFrame(type);
  frame.origin_id = stream.origin_id;
  frame.routed_id = stream.routed_id;
  frame.stream_id = stream_id;
  if (stream_id == stream.initial_id) {
    frame.sequence = stream.in_seq;
    frame.acknowledge = stream.in_ack;
    frame.maximum = stream.in_max;
  } else {
    frame.sequence = stream.out_seq;
    frame.acknowledge = stream.out_ack;
    frame.maximum = stream.out_max;
  }
  return frame;
}

int32_t send(PeerStream& stream, const zb_frame_t& frame) {
  trace("->", stream.peer.type(), frame);
  const int32_t result = engineHost().stream_send(stream.peer.host_binding, &frame);
  if (result != ZB_OK && tracing()) {
    std::fprintf(stderr, "   (the engine refused it: %d)\n", result);
  }
  return result;
}

int32_t sendOnReply(PeerStream& stream, zb_frame_type type, const sdk::Extension& ext = {}) {
  zb_frame_t frame = frameOn(stream, type, stream.replyId());
  sdk::setExtension(frame, ext);
  const int32_t result = send(stream, frame);
  if (result == ZB_OK) {
    if (type == ZB_FRAME_BEGIN) {
      stream.reply_begun = true;
    } else if (type == ZB_FRAME_END || type == ZB_FRAME_ABORT) {
      stream.reply_closed = true;
    }
  }
  return result;
}

int32_t sendData(PeerStream& stream, uint8_t flags, const uint8_t* payload, size_t length,
                 const sdk::Extension& ext = {}) {
  static const uint8_t empty[1] = {0};
  zb_frame_t frame = frameOn(stream, ZB_FRAME_DATA, stream.replyId());
  frame.flags = flags;
  frame.payload = payload != nullptr && length == 0 ? empty : payload;
  frame.payload_length = payload != nullptr ? length : 0;
  frame.reserved = static_cast<int32_t>(frame.payload_length) + stream.out_padding;
  sdk::setExtension(frame, ext);
  stream.out_seq += frame.reserved;
  return send(stream, frame);
}

// WINDOW on the initial direction: acknowledges what was read but `held_back` bytes.
int32_t grant(PeerStream& stream, int64_t held_back, int32_t maximum, int32_t padding) {
  const int64_t ack = std::max(stream.in_ack, stream.in_seq - std::max<int64_t>(held_back, 0));
  const int64_t saved_ack = stream.in_ack;
  const int32_t saved_max = stream.in_max;
  const int32_t saved_padding = stream.in_padding;
  const int64_t saved_edge = stream.in_edge;
  // Before sending: the binding may write within the new credit before send() returns.
  stream.in_ack = ack;
  stream.in_max = maximum;
  stream.in_padding = padding;
  stream.in_edge = std::max(stream.in_edge, ack + maximum);
  zb_frame_t frame = frameOn(stream, ZB_FRAME_WINDOW, stream.initial_id);
  frame.padding = padding;
  const int32_t result = send(stream, frame);
  if (result != ZB_OK) {
    stream.in_ack = saved_ack;
    stream.in_max = saved_max;
    stream.in_padding = saved_padding;
    stream.in_edge = saved_edge;
  }
  return result;
}

int32_t resetInitial(PeerStream& stream, const sdk::Extension& ext = {}) {
  zb_frame_t frame = frameOn(stream, ZB_FRAME_RESET, stream.initial_id);
  sdk::setExtension(frame, ext);
  const int32_t result = send(stream, frame);
  if (result == ZB_OK) {
    stream.initial_closed = true;
  }
  return result;
}

// Sends fragments of the waiting message while credit allows; the last one carries FIN.
void continueOutgoing(PeerStream& stream) {
  Outgoing& out = stream.outgoing;
  while (out.active && !stream.reply_closed && !stream.released) {
    const int64_t room = stream.credit() - stream.out_padding;
    const size_t n = std::min<size_t>(
        {out.rest.size(), out.fragment, static_cast<size_t>(std::max<int64_t>(room, 0))});
    if (n == 0) {
      return;
    }
    const bool last = n == out.rest.size();
    // Copied: a frame's payload is borrowed for the call only, and rest shrinks after it.
    const std::string chunk = out.rest.substr(0, n);
    out.rest.erase(0, n);
    out.active = !last;
    if (sendData(stream, last ? ZB_DATA_FIN : 0, reinterpret_cast<const uint8_t*>(chunk.data()),
                 n) != ZB_OK) {
      out.active = false;
    }
  }
}

// Starts a message of `value` (nullptr: a null payload) within credit: the INIT fragment carries
// the extension `make(deferred)` builds; what does not fit waits in stream.outgoing.
template <typename MakeExtension>
bool startMessage(PeerStream& stream, const std::string* value, size_t fragment,
                  MakeExtension make) {
  continueOutgoing(stream);
  if (stream.outgoing.active || stream.reply_closed || stream.released) {
    return false;
  }
  const int64_t room = stream.credit() - stream.out_padding;
  if (value == nullptr) {
    if (room < 0) {
      return false;
    }
    sendData(stream, ZB_DATA_COMPLETE, nullptr, 0, make(0));
    return true;
  }
  const size_t n =
      std::min<size_t>({value->size(), fragment, static_cast<size_t>(std::max<int64_t>(room, 0))});
  if (room < 0 || (n == 0 && !value->empty())) {
    return false;
  }
  const bool whole = n == value->size();
  if (!whole) {
    stream.outgoing.active = true;
    stream.outgoing.rest.assign(*value, n);
    stream.outgoing.fragment = fragment;
  }
  sendData(stream, whole ? ZB_DATA_COMPLETE : ZB_DATA_INIT,
           reinterpret_cast<const uint8_t*>(value->data()), n,
           make(static_cast<int32_t>(value->size() - n)));
  return true;
}

// ---- Extensions the peers send.

// Per input, like everything else here: an input that leaves nothing allocated behind saves
// libFuzzer a second run to look for leaks.
std::optional<sdk::ExtensionWriter> g_writer;
std::string g_ext_bytes;  // raw or mutated extension bytes

struct RecordNames {
  std::string_view service = "zilla:service";
  std::string_view method = "zilla:method";
  std::string_view correlation_id = "zilla:correlation-id";
  std::string_view reply_to = "zilla:reply-to";
};
RecordNames g_names;

struct RecordShape {
  int partition = 0;
  int64_t offset = 0;
  int32_t deferred = 0;
  int64_t timestamp = 0;
  uint8_t id = 0;       // %5: c0..c3, 4: none
  uint8_t headers = 0;  // kRecord's bits
};

sdk::Extension fetchData(const PeerStream& stream, const RecordShape& shape) {
  static const char* const ids[] = {"c0", "c1", "c2", "c3"};
  FlatBufferBuilder& fbb = g_writer->start();
  std::vector<Offset<kafka::Header>> headers;
  const auto header = [&](std::string_view name, std::string_view value) {
    headers.push_back(kafka::CreateHeader(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value)));
  };
  const bool has_id = shape.id % 5 < 4;
  const std::string_view id = has_id ? ids[shape.id % 5] : "";
  const bool orders = stream.topic == "orders";
  if (shape.headers & 0x01) header(g_names.service, "example.EchoService");
  if (shape.headers & 0x02) header(g_names.method, "EchoUnary");
  if (shape.headers & 0x04) header(g_names.reply_to, orders ? "order-replies" : "responses");
  if (has_id) header(g_names.correlation_id, id);
  if (shape.headers & 0x08) header("meta:idempotency-key", id);
  if (shape.headers & 0x10) header("meta:trace-bin", "AAEC");
  if (shape.headers & 0x20) header("meta:trace-bin", "**");
  if (shape.headers & 0x40) header("tenant", "a");
  const kafka::Offset partition(shape.partition, shape.offset);
  const auto key = has_id && (shape.headers & 0x80) ? sdk::bytesIn(fbb, id) : 0;
  const auto data = kafka::CreateFetchDataEx(fbb, shape.deferred, shape.timestamp, &partition, key,
                                             fbb.CreateVector(headers));
  return g_writer->finishKafka(
      kafka::CreateKafkaExtension(fbb, kafka::KafkaEx::FetchDataEx, data.Union()),
      g_kafka.kafka_type);
}

// A FetchDataEx of fuzzed parts: any deferred, timestamp, key and headers (names that matter to
// the binding, or any bytes), at the stream's next offset of a partition.
sdk::Extension fuzzedFetchData(Input& in, int partition, int64_t offset) {
  FlatBufferBuilder& fbb = g_writer->start();
  const int32_t deferred = static_cast<int32_t>(static_cast<int16_t>(in.u16()));
  const int64_t timestamp = static_cast<int8_t>(in.u8());
  const uint8_t key_kind = in.u8() % 3;
  const auto key = key_kind == 0 ? 0 : sdk::bytesIn(fbb, key_kind == 1 ? "c0" : in.bytes());
  std::vector<Offset<kafka::Header>> headers;
  const size_t count = in.u8() % 7;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t which = in.u8();
    std::string_view name;
    switch (which % 8) {
      case 0:
        name = g_names.service;
        break;
      case 1:
        name = g_names.method;
        break;
      case 2:
        name = g_names.correlation_id;
        break;
      case 3:
        name = g_names.reply_to;
        break;
      case 4:
        name = "meta:m";
        break;
      case 5:
        name = "meta:m-bin";
        break;
      case 6:
        name = "meta:-bin";
        break;
      default:
        name = in.bytes();
        break;
    }
    const auto name_offset = sdk::bytesIn(fbb, name);
    const auto value = which & 0x80 ? 0 : sdk::bytesIn(fbb, in.bytes());
    headers.push_back(kafka::CreateHeader(fbb, name_offset, value));
  }
  const kafka::Offset at(partition, offset);
  const bool no_partition = (key_kind == 2) && (in.u8() & 1);
  const auto data = kafka::CreateFetchDataEx(fbb, deferred, timestamp, no_partition ? nullptr : &at,
                                             key, fbb.CreateVector(headers));
  return g_writer->finishKafka(
      kafka::CreateKafkaExtension(fbb, kafka::KafkaEx::FetchDataEx, data.Union()),
      g_kafka.kafka_type);
}

sdk::Extension resetEx(int32_t error, std::string_view message) {
  FlatBufferBuilder& fbb = g_writer->start();
  const auto reset = kafka::CreateResetEx(fbb, error, fbb.CreateString(message));
  return g_writer->finishKafka(
      kafka::CreateKafkaExtension(fbb, kafka::KafkaEx::ResetEx, reset.Union()), g_kafka.kafka_type);
}

sdk::Extension rawExtension(uint32_t type_id, std::string_view bytes) {
  g_ext_bytes.assign(bytes);
  return sdk::Extension{type_id, reinterpret_cast<const uint8_t*>(g_ext_bytes.data()),
                        static_cast<uint32_t>(g_ext_bytes.size())};
}

// A valid extension with some of its bytes overwritten: count, then (position, value) pairs.
sdk::Extension mutated(const sdk::Extension& valid, Input& in) {
  g_ext_bytes.assign(reinterpret_cast<const char*>(valid.data), valid.length);
  const size_t count = in.u8() % 4 + 1;
  for (size_t i = 0; i < count && !g_ext_bytes.empty(); ++i) {
    const uint8_t position = in.u8();
    g_ext_bytes[position % g_ext_bytes.size()] = static_cast<char>(in.u8());
  }
  return sdk::Extension{valid.type_id, reinterpret_cast<const uint8_t*>(g_ext_bytes.data()),
                        static_cast<uint32_t>(g_ext_bytes.size())};
}

// Status of a call RESET or ABORT: (%7) 14, 3, 0, 13, a raw byte, no extension, garbage.
sdk::Extension statusEx(Input& in) {
  const uint8_t kind = in.u8() % 7;
  const std::string_view message = in.bytes();
  if (kind == 5) {
    return {};
  }
  if (kind == 6) {
    return rawExtension(g_grpc.grpc_type, message);
  }
  static const int32_t codes[] = {14, 3, 0, 13};
  const int32_t status = kind < 4 ? codes[kind] : static_cast<int8_t>(in.u8());
  FlatBufferBuilder& fbb = g_writer->start();
  const auto text = message.empty() ? 0 : fbb.CreateString(message);
  const auto ex = grpc::CreateStatusEx(fbb, status, text);
  return g_writer->finishGrpc(grpc::CreateGrpcExtension(fbb, grpc::GrpcEx::StatusEx, ex.Union()),
                              g_grpc.grpc_type);
}

sdk::Extension dataEx(int32_t deferred) {
  FlatBufferBuilder& fbb = g_writer->start();
  const auto ex = grpc::CreateDataEx(fbb, deferred);
  return g_writer->finishGrpc(grpc::CreateGrpcExtension(fbb, grpc::GrpcEx::DataEx, ex.Union()),
                              g_grpc.grpc_type);
}

std::string patterned(size_t length, uint8_t seed) {
  std::string value(length, '\0');
  for (size_t i = 0; i < length; ++i) {
    value[i] = static_cast<char>(seed + i * 31);
  }
  return value;
}

// ---- The ops.

void pump() {
  for (size_t i = 0; i < g_kafka.streams.size(); ++i) {
    PeerStream& stream = *g_kafka.streams[i];
    if (!stream.usable()) {
      continue;
    }
    if (!stream.reply_begun && !stream.reply_closed) {
      sendOnReply(stream, ZB_FRAME_BEGIN);
    }
    if (stream.kind == Kind::kProduce && !stream.initial_closed && !stream.released &&
        (stream.in_ack != stream.in_seq || stream.in_max != 65536)) {
      grant(stream, 0, 65536, 1);
    }
    if (stream.kind == Kind::kProduce && stream.initial_closed && !stream.reply_closed &&
        !stream.released && stream.in_ack >= stream.in_seq) {
      sendOnReply(stream, ZB_FRAME_END);
    }
    continueOutgoing(stream);
  }
  for (size_t i = 0; i < g_grpc.streams.size(); ++i) {
    PeerStream& stream = *g_grpc.streams[i];
    if (!stream.usable()) {
      continue;
    }
    if (!stream.initial_closed && (stream.in_ack != stream.in_seq || stream.in_max != 65536)) {
      grant(stream, 0, 65536, 0);
    }
    continueOutgoing(stream);
  }
}

void record(Input& in) {
  PeerStream* stream = g_kafka.pick(in.u8(), Kind::kFetch);
  RecordShape shape;
  shape.id = in.u8();
  shape.headers = in.u8();
  shape.partition = in.u8() % kPartitions;
  const uint8_t value_kind = in.u8() % 3;
  const size_t length = in.u16() % 8193;
  const size_t fragment = 16 + 32 * size_t(in.u8());
  if (stream == nullptr) {
    return;
  }
  shape.offset = stream->next_offset[shape.partition];
  shape.timestamp = 1700000000000 + shape.offset;
  const std::string value = patterned(value_kind == 2 ? length : 0, shape.id);
  // Counted as delivered before it is sent: the binding may commit it before send() returns.
  ++stream->next_offset[shape.partition];
  const bool sent =
      startMessage(*stream, value_kind == 0 ? nullptr : &value, fragment, [&](int32_t deferred) {
        shape.deferred = deferred;
        return fetchData(*stream, shape);
      });
  if (!sent) {
    --stream->next_offset[shape.partition];
  }
}

void rawData(Input& in) {
  PeerStream* stream = g_kafka.pick(in.u8(), Kind::kFetch);
  const uint8_t flags = in.u8();
  const uint8_t payload_kind = in.u8();
  const std::string_view payload = payload_kind != 0 ? in.bytes() : std::string_view();
  const uint8_t ext_kind = in.u8() % 4;
  const int partition = in.u8() % kPartitions;
  if (stream == nullptr) {
    return;
  }
  const int64_t offset = stream->next_offset[partition];
  sdk::Extension ext;
  switch (ext_kind) {
    case 0:
      break;
    case 1:
      ext = fuzzedFetchData(in, partition, offset);
      break;
    case 2:
      g_raw = true;
      ext = rawExtension(g_kafka.kafka_type, in.bytes());
      break;
    default: {
      g_raw = true;
      RecordShape shape;
      shape.partition = partition;
      shape.offset = offset;
      shape.id = in.u8();
      shape.headers = in.u8();
      ext = mutated(fetchData(*stream, shape), in);
      break;
    }
  }
  if (ext.data != nullptr) {
    ++stream->next_offset[partition];
  }
  // Whatever fragment was in progress is interrupted.
  stream->outgoing.active = false;
  sendData(*stream, flags,
           payload_kind != 0 ? reinterpret_cast<const uint8_t*>(payload.data()) : nullptr,
           payload.size(), ext);
}

void kafkaClose(Input& in) {
  const uint8_t which = in.u8();
  const uint8_t how = in.u8() % 6;
  PeerStream* stream = g_kafka.pickAny(which);
  if (stream == nullptr || stream->released) {
    return;
  }
  switch (how) {
    case 0:
      sendOnReply(*stream, ZB_FRAME_END);
      break;
    case 1:
      sendOnReply(*stream, ZB_FRAME_ABORT);
      break;
    case 2:
      sendOnReply(*stream, ZB_FRAME_ABORT, resetEx(3, "UNKNOWN_TOPIC_OR_PART"));
      break;
    case 3:
      resetInitial(*stream);
      break;
    case 4:
      resetInitial(*stream, resetEx(in.u8(), in.bytes()));
      break;
    default:
      resetInitial(*stream, rawExtension(g_kafka.kafka_type, in.bytes()));
      break;
  }
}

void callData(Input& in) {
  PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall);
  const size_t length = in.u16() % 8193;
  const size_t fragment = 16 + 32 * size_t(in.u8());
  const uint8_t rogue = in.u8();
  if (stream == nullptr) {
    return;
  }
  const std::string value = patterned(length, static_cast<uint8_t>(length));
  if (rogue & 0x01) {
    // Ignores the credit: the binding must notice, not forward it.
    stream->outgoing.active = false;
    sendData(*stream, ZB_DATA_COMPLETE, reinterpret_cast<const uint8_t*>(value.data()),
             value.size(), (rogue & 0x04) ? sdk::Extension{} : dataEx(0));
    return;
  }
  startMessage(*stream, &value, fragment, [&](int32_t deferred) {
    if (rogue & 0x04) {
      return sdk::Extension{};
    }
    return dataEx((rogue & 0x02) ? -deferred - 1 : deferred);
  });
}

void callBegin(Input& in) {
  PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall);
  const size_t count = in.u8() % 4;
  FlatBufferBuilder& fbb = g_writer->start();
  std::vector<Offset<grpc::Metadata>> metadata;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t type = in.u8();
    const auto name = sdk::bytesIn(fbb, in.bytes());
    const auto value = sdk::bytesIn(fbb, in.bytes());
    const auto kind = type % 3 == 0   ? grpc::MetadataType::TEXT
                      : type % 3 == 1 ? grpc::MetadataType::BASE64
                                      : static_cast<grpc::MetadataType>(type);
    metadata.push_back(grpc::CreateMetadata(fbb, kind, name, value));
  }
  const auto begin = grpc::CreateBeginEx(fbb, 0, 0, 0, 0, fbb.CreateVector(metadata));
  const sdk::Extension ext = g_writer->finishGrpc(
      grpc::CreateGrpcExtension(fbb, grpc::GrpcEx::BeginEx, begin.Union()), g_grpc.grpc_type);
  if (stream != nullptr) {
    sendOnReply(*stream, ZB_FRAME_BEGIN, ext);
  }
}

int64_t relative(Input& in, int64_t honest) {
  switch (in.u8() % 3) {
    case 0:
      return honest;
    case 1:
      return honest + static_cast<int8_t>(in.u8());
    default:
      return static_cast<int64_t>(in.u64());
  }
}

void rawFrame(Input& in) {
  static const uint32_t types[] = {
      ZB_FRAME_BEGIN, ZB_FRAME_DATA,   ZB_FRAME_END,       ZB_FRAME_ABORT,  ZB_FRAME_FLUSH,
      ZB_FRAME_RESET, ZB_FRAME_WINDOW, ZB_FRAME_CHALLENGE, ZB_FRAME_SIGNAL, 0,
      0x7fffffffu};
  Peer& peer = in.u8() & 1 ? g_grpc : g_kafka;
  PeerStream* stream = peer.pickAny(in.u8());
  const uint32_t type = types[in.u8() % std::size(types)];
  const uint8_t direction = in.u8() % 4;
  if (stream == nullptr) {
    return;
  }
  g_raw = true;
  const uint64_t stream_id = direction == 0   ? stream->replyId()
                             : direction == 1 ? stream->initial_id
                             : direction == 2 ? stream->initial_id ^ 2
                                              : in.u64();
  // The books to keep are those of the stream the id names, if this peer is a side of it.
  PeerStream* target = nullptr;
  for (const auto& candidate : peer.streams) {
    if (candidate->initial_id == ZB_STREAM_INITIAL_ID(stream_id)) {
      target = candidate.get();
    }
  }
  if (target != nullptr) {
    stream = target;
  }
  const bool reads = stream_id == stream->initial_id;
  zb_frame_t frame = frameOn(*stream, static_cast<zb_frame_type>(type), stream_id);
  frame.type = type;
  frame.sequence = relative(in, reads ? stream->in_seq : stream->out_seq);
  frame.acknowledge = relative(in, reads ? stream->in_seq : stream->out_ack);
  frame.maximum = static_cast<int32_t>(relative(in, 65536));
  frame.padding = static_cast<int8_t>(in.u8());
  frame.flags = in.u8();
  const uint8_t payload_kind = in.u8();
  const std::string_view payload = payload_kind != 0 ? in.bytes() : std::string_view();
  static const uint8_t empty[1] = {0};
  frame.payload = payload_kind == 0 ? nullptr
                  : payload.empty() ? empty
                                    : reinterpret_cast<const uint8_t*>(payload.data());
  frame.payload_length = payload.size();
  frame.reserved = static_cast<int32_t>(
      relative(in, static_cast<int64_t>(payload.size()) + (reads ? 0 : stream->out_padding)));
  const uint8_t ext_kind = in.u8() % 3;
  if (ext_kind != 0) {
    const uint32_t other = &peer == &g_kafka ? peer.grpc_type : peer.kafka_type;
    sdk::setExtension(frame, rawExtension(ext_kind == 1 ? peer.ownType() : other, in.bytes()));
  }
  // Keep the books as the binding will: a WINDOW it reads moves the credit it may use.
  const int64_t saved_ack = stream->in_ack;
  const int32_t saved_max = stream->in_max;
  const int32_t saved_padding = stream->in_padding;
  const int64_t saved_edge = stream->in_edge;
  if (target != nullptr && reads && type == ZB_FRAME_WINDOW) {
    stream->in_ack = std::max(stream->in_ack, frame.acknowledge);
    stream->in_max = frame.maximum;
    stream->in_padding = frame.padding;
    stream->in_edge = std::max(stream->in_edge, stream->in_ack + stream->in_max);
  }
  const int32_t result = send(*stream, frame);
  if (result != ZB_OK) {
    stream->in_ack = saved_ack;
    stream->in_max = saved_max;
    stream->in_padding = saved_padding;
    stream->in_edge = saved_edge;
    return;
  }
  if (target == nullptr) {
    return;
  }
  if (!reads && (type == ZB_FRAME_DATA || type == ZB_FRAME_FLUSH)) {
    stream->out_seq = std::max(stream->out_seq, frame.sequence + frame.reserved);
  }
  if (type == ZB_FRAME_END || type == ZB_FRAME_ABORT) {
    stream->reply_closed = stream->reply_closed || !reads;
  } else if (type == ZB_FRAME_RESET && reads) {
    stream->initial_closed = true;
  } else if (type == ZB_FRAME_BEGIN && !reads) {
    stream->reply_begun = true;
  }
}

void play(Input& in) {
  for (size_t n = 0; n < kMaxOps && !in.empty(); ++n) {
    const uint8_t op = in.u8() % kOpCount;
    switch (op) {
      case kPump:
        pump();
        break;
      case kFetchBegin:
        if (PeerStream* stream = g_kafka.pick(in.u8(), Kind::kFetch)) {
          sendOnReply(*stream, ZB_FRAME_BEGIN);
        }
        break;
      case kRecord:
        record(in);
        break;
      case kContinue: {
        const uint8_t which = in.u8();
        if (PeerStream* stream = (which & 0x80 ? g_grpc : g_kafka).pickAny(which & 0x7f)) {
          continueOutgoing(*stream);
        }
        break;
      }
      case kRawData:
        rawData(in);
        break;
      case kKafkaClose:
        kafkaClose(in);
        break;
      case kProduceWindow: {
        PeerStream* stream = g_kafka.pick(in.u8(), Kind::kProduce);
        const int64_t held = in.u16();
        const int32_t maximum = in.u16();
        const int32_t padding = in.u8() % 4;
        if (stream != nullptr) {
          grant(*stream, held, maximum, padding);
        }
        break;
      }
      case kProduceBegin:
        if (PeerStream* stream = g_kafka.pick(in.u8(), Kind::kProduce)) {
          sendOnReply(*stream, ZB_FRAME_BEGIN);
        }
        break;
      case kProduceEnd:
        if (PeerStream* stream = g_kafka.pick(in.u8(), Kind::kProduce)) {
          sendOnReply(*stream, ZB_FRAME_END);
        }
        break;
      case kCallWindow: {
        PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall);
        const int64_t held = in.u16();
        const int32_t maximum = in.u16();
        const int32_t padding = in.u8() % 3;
        if (stream != nullptr) {
          grant(*stream, held, maximum, padding);
        }
        break;
      }
      case kCallReset: {
        PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall);
        const sdk::Extension ext = statusEx(in);
        if (stream != nullptr) {
          resetInitial(*stream, ext);
        }
        break;
      }
      case kCallBegin:
        callBegin(in);
        break;
      case kCallData:
        callData(in);
        break;
      case kCallEnd:
        if (PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall)) {
          continueOutgoing(*stream);
          sendOnReply(*stream, ZB_FRAME_END);
        }
        break;
      case kCallAbort: {
        PeerStream* stream = g_grpc.pick(in.u8(), Kind::kCall);
        const sdk::Extension ext = statusEx(in);
        if (stream != nullptr) {
          sendOnReply(*stream, ZB_FRAME_ABORT, ext);
        }
        break;
      }
      case kAdvance: {
        const uint16_t ms = in.u16();
        advance(ms == 0xffff ? 3'600'000'000'000 : int64_t(ms) * 1'000'000);
        break;
      }
      case kRawFrame:
        rawFrame(in);
        break;
      case kRefuseNext:
        (in.u8() & 1 ? g_grpc : g_kafka).refuse_next = true;
        break;
      default:
        break;
    }
  }
}

// ---- The binding under test, its options from the input's first byte.

std::string optionsJson(uint8_t bits) {
  std::string json = "{";
  json += bits & kAcksNone ? R"("acks":"none")" : R"("acks":"leader_only")";
  json += bits & kOneInFlight ? R"(,"max-in-flight":1)" : R"(,"max-in-flight":4)";
  if (bits & kDeadline) {
    json += R"(,"deadline":"50ms")";
  }
  if (bits & kDeadLetter) {
    json += R"(,"dead-letter-topic":"dead-letters")";
  }
  if (bits & kCustomHeaders) {
    json += R"(,"correlation":{"headers":{"service":"svc","method":"mth",)"
            R"("correlation-id":"cid","reply-to":"rto"}})";
  }
  if (bits & kQuickRetry) {
    json += R"(,"retry":{"max-attempts":3,"initial-backoff":"1ms","max-backoff":"10ms"})";
  }
  return json + "}";
}

std::string routesJson(uint8_t bits) {
  std::string json = R"([{"exit":"grpc0","when":[{"topic":"requests","reply-to":"responses"}],)"
                     R"("with":{"scheme":"http","authority":"localhost:8080"}})";
  if (bits & kTwoRoutes) {
    json += R"(,{"exit":"grpc0","when":[{"topic":"orders","reply-to":"order-replies","key":"c1",)"
            R"("headers":{"tenant":"a"},"method":"example.EchoService/*"}],)"
            R"("with":{"scheme":"https","authority":"orders:443"}})";
  }
  return json + "]";
}

class FuzzLog : public runtime::LogSink {
 public:
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override {
    if (tracing()) {
      std::fprintf(stderr, "   log %s %.*s: %.*s\n", runtime::logLevelName(level),
                   static_cast<int>(binding.size()), binding.data(), static_cast<int>(msg.size()),
                   msg.data());
    }
    if (msg.find("uncaught exception") != std::string_view::npos) {
      violation("%.*s: %.*s", static_cast<int>(binding.size()), binding.data(),
                static_cast<int>(msg.size()), msg.data());
    }
  }
};

// The binding compiled in, or with ZB_FUZZ_PLUGIN=<path to libbinding-kafka-grpc.so> a built
// .so loaded by the real loader (no coverage for the fuzzer then: for replaying a corpus
// against what ships). Either way its host table is bindingHost(), with the virtual clock.
const zb_binding_api_t* bindingUnderTest() {
  static std::unique_ptr<runtime::Plugin> plugin;
  static const zb_binding_api_t* api = [] {
    if (const char* path = std::getenv("ZB_FUZZ_PLUGIN"); path != nullptr && path[0] != '\0') {
      std::string error;
      plugin = runtime::Plugin::load(path, bindingHost(), error);
      if (!plugin) {
        violation("cannot load %s: %s", path, error.c_str());
      }
      return plugin->api();
    }
    char error[256] = {0};
    const zb_binding_api_t* table = zb_binding_init(bindingHost(), error, sizeof error);
    if (table == nullptr) {
      violation("zb_binding_init refused: %s", error);
    }
    return table;
  }();
  return api;
}

void runOne(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t bits = in.u8();
  g_clock = Clock{};
  g_clock.now = 1'000'000'000'000;
  g_raw = false;
  g_writer.emplace();
  g_kafka.reset();
  g_grpc.reset();
  g_names = RecordNames{};
  if (bits & kCustomHeaders) {
    g_names = RecordNames{"svc", "mth", "cid", "rto"};
  }

  FuzzLog log;
  {
    runtime::Engine engine(log);
    g_engine = &engine;
    std::string error;
    if (!engine.addType(bindingUnderTest(), error) || !engine.addType(Peer::api("kafka"), error) ||
        !engine.addType(Peer::api("grpc"), error)) {
      violation("addType: %s", error.c_str());
    }
    runtime::BindingDeclaration declaration;
    declaration.namespace_name = "fuzz";
    declaration.name = "kafka0";
    declaration.type = "kafka";
    declaration.kind = "client";
    engine.declare(declaration, error);
    declaration.name = "grpc0";
    declaration.type = "grpc";
    engine.declare(declaration, error);
    declaration.name = "remote_server0";
    declaration.type = "kafka-grpc";
    declaration.kind = "remote_server";
    declaration.entry = "kafka0";
    declaration.options_json = optionsJson(bits);
    declaration.routes_json = routesJson(bits);
    if (engine.declare(declaration, error) == 0 || !engine.create(error)) {
      violation("the binding refused its config: %s", error.c_str());
    }
    engine.start();
    play(in);
    engine.shutdown();
    g_engine = nullptr;
  }
  g_clock = Clock{};
  g_kafka.reset();
  g_grpc.reset();
  g_writer.reset();
  std::string().swap(g_ext_bytes);
}

}  // namespace
}  // namespace zb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zb::fuzz::runOne(data, size);
  return 0;
}
