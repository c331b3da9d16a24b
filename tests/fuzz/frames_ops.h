// The input language of frames_fuzz, shared with the seed writer (fuzz_seeds.cc).
//
// Byte 0 picks the kafka-grpc binding's options (ConfigBit). Every later op is one byte
// (value % kOpCount) followed by its operands: one byte each unless marked u16 (little endian);
// "bytes" is a length byte and that many bytes. Streams are chosen by a byte, modulo the number
// of open streams of the kind the op needs; an op with no such stream does nothing. An input
// that runs out reads zeros.
#pragma once

#include <cstdint>

namespace zb::fuzz {

enum ConfigBit : uint8_t {
  kOneInFlight = 1 << 0,    // max-in-flight 1 (else 4)
  kDeadline = 1 << 1,       // deadline 50ms
  kDeadLetter = 1 << 2,     // dead-letter-topic "dead-letters"
  kTwoRoutes = 1 << 3,      // a second route: topic "orders", key, header and method filters
  kCustomHeaders = 1 << 4,  // correlation headers renamed svc / mth / cid / rto
  kQuickRetry = 1 << 5,     // retry: 3 attempts from 1ms
  kAcksNone = 1 << 6,       // acks none (else leader_only)
};

enum Op : uint8_t {
  // The cooperative peers' turn: the kafka peer answers fetch and produce BEGINs, grants produce
  // credit for all it read (max 65536, padding 1) and ENDs a produce stream whose initial
  // direction ended with everything acknowledged; the grpc peer grants call credit for all it
  // read (max 65536); waiting fragments go out as credit allows.
  kPump = 0,
  kFetchBegin,  // stream
  // A well-formed record on a fetch stream, within credit (fragments wait for more):
  // stream, id (%5: c0..c3, 4: no correlation id), headers (bits: 0 service, 1 method,
  // 2 reply-to, 3 meta:idempotency-key, 4 meta:trace-bin base64, 5 meta:trace-bin not base64,
  // 6 tenant: a, 7 key = id), partition (%3), value (%3: tombstone, empty, bytes),
  // length u16 (%8193), fragment (16 + 32 * byte bytes at most per DATA).
  kRecord,
  // stream (bit 7: of the grpc peer, else of the kafka peer; any of its streams): more fragments
  // of a waiting record or response, as credit allows
  kContinue,
  // A DATA on a fetch stream with fuzzed parts: stream, flags, payload (0: null, else bytes),
  // extension (%4: none; FetchDataEx with fuzzed fields and the next offset; raw bytes; a valid
  // FetchDataEx with bytes overwritten), partition (%3), then the extension's operands.
  kRawData,
  kKafkaClose,     // stream (any kafka stream), how (%6: END, ABORT, ABORT+ResetEx, RESET,
                   // RESET+ResetEx, RESET with a garbage extension)
  kProduceWindow,  // stream, held back u16, maximum u16, padding (%4)
  kProduceBegin,   // stream
  kProduceEnd,     // stream
  kCallWindow,     // stream, held back u16, maximum u16, padding (%3)
  // stream, status (%7: 14, 3, 0, 13, a signed byte after the message, no extension, the
  // message bytes as a garbage extension), message bytes
  kCallReset,
  // stream, count (%4), then per entry: type (%3: TEXT, BASE64, raw), name bytes, value bytes
  kCallBegin,
  // A response message: stream, length u16 (%8193), fragment (as kRecord), rogue (bits: 0
  // ignore credit, 1 wrong deferred, 2 no DataEx)
  kCallData,
  kCallEnd,    // stream
  kCallAbort,  // stream, status (as kCallReset), message bytes
  kAdvance,    // u16 milliseconds (0xffff: one hour): due timers fire
  // Any frame on any stream the peers know, released ones included: peer, stream, type,
  // direction (%4: reply, initial, another stream's initial, a u64 id that follows), sequence,
  // acknowledge, maximum (a mode byte each, %3: as the books say, that plus a signed byte, a
  // u64 that follows), padding (signed byte), flags, payload (0: null, else bytes), reserved
  // (as sequence), extension (%3: none, raw bytes tagged with the peer's type, or the other's).
  kRawFrame,
  kRefuseNext,  // peer (%2: kafka, grpc): refuse the next stream opened to it
  kOpCount
};

}  // namespace zb::fuzz
