// headers_fuzz: the kafka-grpc binding's own fetch-extension reader against the FlatBuffers
// verifier, differentially.
//
// RequestHeaders::read verifies a record's FetchDataEx and parses its headers in one pass, with
// checks written field by field after flatbuffers::Verifier (binding/kafka-grpc/
// request_headers.cc): it is on the path of every record a peer sends, so it must accept exactly
// what sdk::readKafka(...)->ex_as_FetchDataEx() accepts and find the same headers as
// RequestHeaders::parse on that verified table. The first input byte picks the header names (the
// defaults, or custom ones whose lengths collide with other headers) and the extension type id
// (the kafka one or another); the rest are the extension bytes, copied to an 8-byte-aligned
// buffer as every FlatBuffers reader needs (the verifier itself makes misaligned member calls on
// a misaligned buffer, which UBSan reports: see docs/fuzzing.md). Any difference aborts.
#include "request_headers.h"  // binding/kafka-grpc

#include <zb/sdk/extension.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

using zb::kafka_grpc::CorrelationHeaders;
using zb::kafka_grpc::RequestHeaders;

constexpr uint32_t kKafkaType = 1;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "headers_fuzz: %s\n", what);
  std::abort();
}

// The same bytes, not merely equal text: both must point into the extension.
bool sameView(std::string_view a, std::string_view b) {
  return a.data() == b.data() && a.size() == b.size();
}

const CorrelationHeaders& namesFor(uint8_t mode) {
  static const CorrelationHeaders defaults;
  static const CorrelationHeaders custom = [] {
    CorrelationHeaders names;
    names.service = "svc";
    names.method = "mth";
    names.correlation_id = "abcdefghijklmnopqrstuvwxyz0123456789AB";
    names.reply_to = "";
    return names;
  }();
  return (mode & 1) != 0 ? custom : defaults;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t mode = data[0];
  ++data;
  --size;
  const CorrelationHeaders& names = namesFor(mode);
  std::vector<uint64_t> storage(size / 8 + 1);  // 8-byte aligned
  if (size > 0) {
    std::memcpy(storage.data(), data, size);
  }
  zb_frame_t frame = zb::sdk::makeFrame(ZB_FRAME_DATA);
  frame.extension_type_id = (mode & 0x80) != 0 ? kKafkaType + 1 : kKafkaType;
  frame.extension = size > 0 ? reinterpret_cast<const uint8_t*>(storage.data()) : nullptr;
  frame.extension_length = static_cast<uint32_t>(size);

  static RequestHeaders read;
  static RequestHeaders parsed;
  const zb::kafka::FetchDataEx* got = read.read(frame, kKafkaType, names);
  const zb::kafka::KafkaExtension* ext = zb::sdk::readKafka(frame, kKafkaType);
  const zb::kafka::FetchDataEx* want = ext != nullptr ? ext->ex_as_FetchDataEx() : nullptr;
  if (got != want) {
    fail(got != nullptr ? "read accepted what the verifier refused"
                        : "read refused a valid fetch extension");
  }
  if (want == nullptr) {
    if (!read.service.empty() || !read.method.empty() || !read.correlation_id.empty() ||
        !read.reply_to.empty() || !read.metadata.empty() || read.bad_base64 != nullptr) {
      fail("headers left over after a refusal");
    }
    return 0;
  }
  parsed.parse(*want, names);
  if (!sameView(read.service, parsed.service) || !sameView(read.method, parsed.method) ||
      !sameView(read.correlation_id, parsed.correlation_id) ||
      !sameView(read.reply_to, parsed.reply_to)) {
    fail("the routing headers differ");
  }
  if (read.metadata.size() != parsed.metadata.size()) {
    fail("the number of metadata entries differs");
  }
  for (size_t i = 0; i < read.metadata.size(); ++i) {
    if (read.metadata[i].type != parsed.metadata[i].type ||
        !sameView(read.metadata[i].name, parsed.metadata[i].name) ||
        !sameView(read.metadata[i].value, parsed.metadata[i].value)) {
      fail("a metadata entry differs");
    }
  }
  const auto indexOf = [](const RequestHeaders& headers) {
    return headers.bad_base64 != nullptr ? headers.bad_base64 - headers.metadata.data() : -1;
  };
  if (indexOf(read) != indexOf(parsed)) {
    fail("the first bad -bin entry differs");
  }
  // Everything the binding reads of an accepted extension must be inside the buffer (ASan).
  volatile uint64_t sink =
      static_cast<uint64_t>(want->deferred()) + static_cast<uint64_t>(want->timestamp());
  if (want->partition() != nullptr) {
    sink = sink + static_cast<uint64_t>(want->partition()->partition_offset());
  }
  if (want->key() != nullptr) {
    for (const uint8_t byte : *want->key()) {
      sink = sink + byte;
    }
  }
  (void)sink;
  return 0;
}
