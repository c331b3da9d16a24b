#include "request_headers.h"

#include <zb/sdk/extension.hpp>

#include <cstring>
#include <type_traits>
#include <utility>

namespace zb::kafka_grpc {
namespace {

constexpr std::string_view kMetaPrefix = "meta:";
constexpr std::string_view kBinSuffix = "-bin";

// Equality of header names, inline for the lengths header names have: two or four overlapping
// word compares instead of a call to memcmp, for every header of every record.
[[gnu::always_inline]] inline bool sameName(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) {
    return false;
  }
  const char* p = a.data();
  const char* q = b.data();
  const auto differs = [p, q](size_t at) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, p + at, sizeof x);
    std::memcpy(&y, q + at, sizeof y);
    return x ^ y;
  };
  if (n >= 8 && n <= 16) {
    return (differs(0) | differs(n - 8)) == 0;
  }
  if (n > 16 && n <= 32) {
    return (differs(0) | differs(8) | differs(n - 16) | differs(n - 8)) == 0;
  }
  return n == 0 || std::memcmp(p, q, n) == 0;
}

bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool isBase64(std::string_view text) {
  size_t data = text.size();
  while (data > 0 && text[data - 1] == '=') {
    --data;
  }
  if (text.size() - data > 2 || (text.size() != data && text.size() % 4 != 0)) {
    return false;
  }
  if (data % 4 == 1) {
    return false;
  }
  for (size_t i = 0; i < data; ++i) {
    if (!isBase64Char(text[i])) {
      return false;
    }
  }
  return true;
}

struct RequestHeaders::Names {
  explicit Names(const CorrelationHeaders& names)
      : correlation_id(names.correlation_id),
        service(names.service),
        method(names.method),
        reply_to(names.reply_to) {}
  std::string_view correlation_id;
  std::string_view service;
  std::string_view method;
  std::string_view reply_to;
};

void RequestHeaders::clear() {
  // One by one: a chained assignment compiles to stores read back wider, which stalls.
  service = {};
  method = {};
  correlation_id = {};
  reply_to = {};
  metadata.clear();
  bad_base64 = nullptr;
}

void RequestHeaders::take(const Names& names, std::string_view name, std::string_view value,
                          size_t& bad) {
  if (sameName(name, names.correlation_id)) {
    correlation_id = value;
  } else if (sameName(name, names.service)) {
    service = value;
  } else if (sameName(name, names.method)) {
    method = value;
  } else if (sameName(name, names.reply_to)) {
    reply_to = value;
  } else if (name.size() > kMetaPrefix.size() &&
             name.substr(0, kMetaPrefix.size()) == kMetaPrefix) {
    std::string_view key = name.substr(kMetaPrefix.size());
    zb::grpc::MetadataType type = zb::grpc::MetadataType::TEXT;
    if (key.size() > kBinSuffix.size() &&
        key.substr(key.size() - kBinSuffix.size()) == kBinSuffix) {
      key.remove_suffix(kBinSuffix.size());
      type = zb::grpc::MetadataType::BASE64;
      if (bad == SIZE_MAX && !isBase64(value)) {
        bad = metadata.size();
      }
    }
    metadata.push_back(MetadataView{type, key, value});
  }
}

void RequestHeaders::finish(size_t bad) {
  if (bad != SIZE_MAX) {
    bad_base64 = &metadata[bad];
  }
}

void RequestHeaders::parse(const zb::kafka::FetchDataEx& ex, const CorrelationHeaders& names) {
  clear();
  const auto* headers = ex.headers();
  if (headers == nullptr) {
    return;
  }
  const Names wanted(names);
  size_t bad = SIZE_MAX;
  for (const zb::kafka::Header* header : *headers) {
    if (header != nullptr) {
      take(wanted, sdk::bytesOf(header->name()), sdk::bytesOf(header->value()), bad);
    }
  }
  finish(bad);
}

namespace {

// The checks of flatbuffers::Verifier (FlatBuffers 2.0), on positions relative to the buffer's
// start, each named after the Verifier function it stands for.
class BufferChecks {
 public:
  BufferChecks(const uint8_t* buf, size_t size) : buf_(buf), size_(size) {}

  // Verify(elem, elem_len): the range is inside the buffer.
  bool range(size_t at, size_t length) const { return length < size_ && at <= size_ - length; }
  // Verify<T>(elem): aligned (relative to the start, as the Verifier checks) and inside.
  template <typename T>
  bool scalar(size_t at) const {
    return (at & (sizeof(T) - 1)) == 0 && range(at, sizeof(T));
  }
  template <typename T>
  T read(size_t at) const {
    T value;
    std::memcpy(&value, buf_ + at, sizeof value);
    return flatbuffers::EndianScalar(value);
  }

  // VerifyOffset(start): the position the offset at `at` points to, or 0.
  size_t offset(size_t at) const {
    if (!scalar<flatbuffers::uoffset_t>(at)) {
      return 0;
    }
    const auto o = read<flatbuffers::uoffset_t>(at);
    if (o == 0 || static_cast<flatbuffers::soffset_t>(o) < 0 || !range(at + o, 1)) {
      return 0;
    }
    return at + o;
  }

  // VerifyTableStart(table) without the complexity count (the caller bounds the tables); sets
  // the table's vtable and its size.
  bool tableStart(size_t table, size_t& vtable, size_t& vtable_size) const {
    if (!scalar<flatbuffers::soffset_t>(table)) {
      return false;
    }
    // Unsigned, as the Verifier computes it: a wrapped position fails the range checks.
    vtable = table - static_cast<size_t>(read<flatbuffers::soffset_t>(table));
    if (!scalar<flatbuffers::voffset_t>(vtable)) {
      return false;
    }
    vtable_size = read<flatbuffers::voffset_t>(vtable);
    return (vtable_size & 1) == 0 && range(vtable, vtable_size);
  }

  // Table::GetOptionalFieldOffset: where `field` is in the table, 0 when absent.
  size_t fieldOffset(size_t vtable, size_t vtable_size, flatbuffers::voffset_t field) const {
    return field < vtable_size ? read<flatbuffers::voffset_t>(vtable + field) : 0;
  }

  // Table::VerifyField<T>(field, align).
  bool field(size_t table, size_t field_offset, size_t size, size_t align) const {
    const size_t at = table + field_offset;
    return field_offset == 0 || ((at & (align - 1)) == 0 && range(at, size));
  }

  // Table::VerifyOffset(field) then VerifyVector(vector): sets the vector's position (0 when
  // the field is absent) and length.
  bool vector(size_t table, size_t field_offset, size_t element_size, size_t& at,
              uint32_t& length) const {
    at = 0;
    length = 0;
    if (field_offset == 0) {
      return true;
    }
    at = offset(table + field_offset);
    if (at == 0 || !scalar<flatbuffers::uoffset_t>(at)) {
      return false;
    }
    length = read<flatbuffers::uoffset_t>(at);
    return length < FLATBUFFERS_MAX_BUFFER_SIZE / element_size &&
           range(at, sizeof(flatbuffers::uoffset_t) + element_size * length);
  }

  std::string_view bytes(size_t at, uint32_t length) const {
    return at == 0 ? std::string_view()
                   : std::string_view(
                         reinterpret_cast<const char*>(buf_ + at + sizeof(flatbuffers::uoffset_t)),
                         length);
  }

 private:
  const uint8_t* buf_;
  size_t size_;
};

// The field types read() checks for; a change of one in kafka.fbs must change read() too.
using ByteVector = const flatbuffers::Vector<uint8_t>*;
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::FetchDataEx>().deferred()), int32_t>);
static_assert(
    std::is_same_v<decltype(std::declval<zb::kafka::FetchDataEx>().timestamp()), int64_t>);
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::FetchDataEx>().partition()),
                             const zb::kafka::Offset*>);
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::FetchDataEx>().key()), ByteVector>);
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::FetchDataEx>().headers()),
                             const flatbuffers::Vector<flatbuffers::Offset<zb::kafka::Header>>*>);
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::Header>().name()), ByteVector>);
static_assert(std::is_same_v<decltype(std::declval<zb::kafka::Header>().value()), ByteVector>);
static_assert(sizeof(zb::kafka::Offset) == 16 && alignof(zb::kafka::Offset) == 8);

// Verifier::Options defaults: the most tables one buffer may hold.
constexpr size_t kMaxTables = 1000000;
// FLATBUFFERS_MIN_BUFFER_SIZE, whose definition names flatbuffers' types unqualified.
constexpr size_t kMinBufferSize = [] {
  using namespace flatbuffers;
  return size_t{FLATBUFFERS_MIN_BUFFER_SIZE};
}();

}  // namespace

const zb::kafka::FetchDataEx* RequestHeaders::read(const zb_frame_t& frame, uint32_t kafka_type,
                                                   const CorrelationHeaders& names) {
  using zb::kafka::FetchDataEx;
  using zb::kafka::Header;
  using zb::kafka::KafkaExtension;
  clear();
  // sdk::readExtension's own checks.
  if (frame.extension == nullptr || frame.extension_type_id != kafka_type || kafka_type == 0 ||
      frame.extension_length <
          sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength ||
      std::memcmp(frame.extension + sizeof(flatbuffers::uoffset_t),
                  zb::kafka::KafkaExtensionIdentifier(), flatbuffers::kFileIdentifierLength) != 0) {
    return nullptr;
  }
  const BufferChecks buffer(frame.extension, frame.extension_length);
  // VerifyBufferFromStart.
  if (frame.extension_length < kMinBufferSize) {
    return nullptr;
  }
  // KafkaExtension::Verify, as far as a FetchDataEx goes (any other union member is not a fetch
  // extension, whether it verifies or not).
  const size_t root = buffer.offset(0);
  size_t vtable = 0;
  size_t vtable_size = 0;
  if (root == 0 || !buffer.tableStart(root, vtable, vtable_size)) {
    return nullptr;
  }
  const size_t type_at = buffer.fieldOffset(vtable, vtable_size, KafkaExtension::VT_EX_TYPE);
  if (!buffer.field(root, type_at, 1, 1) || type_at == 0 ||
      buffer.read<uint8_t>(root + type_at) !=
          static_cast<uint8_t>(zb::kafka::KafkaEx::FetchDataEx)) {
    return nullptr;
  }
  const size_t ex_at = buffer.fieldOffset(vtable, vtable_size, KafkaExtension::VT_EX);
  const size_t fetch = ex_at != 0 ? buffer.offset(root + ex_at) : 0;
  // FetchDataEx::Verify.
  if (fetch == 0 || !buffer.tableStart(fetch, vtable, vtable_size) ||
      !buffer.field(fetch, buffer.fieldOffset(vtable, vtable_size, FetchDataEx::VT_DEFERRED),
                    sizeof(int32_t), 4) ||
      !buffer.field(fetch, buffer.fieldOffset(vtable, vtable_size, FetchDataEx::VT_TIMESTAMP),
                    sizeof(int64_t), 8) ||
      !buffer.field(fetch, buffer.fieldOffset(vtable, vtable_size, FetchDataEx::VT_PARTITION),
                    sizeof(zb::kafka::Offset), 8)) {
    return nullptr;
  }
  size_t key_at = 0;
  uint32_t key_length = 0;
  size_t headers_at = 0;
  uint32_t header_count = 0;
  if (!buffer.vector(fetch, buffer.fieldOffset(vtable, vtable_size, FetchDataEx::VT_KEY), 1, key_at,
                     key_length) ||
      !buffer.vector(fetch, buffer.fieldOffset(vtable, vtable_size, FetchDataEx::VT_HEADERS),
                     sizeof(flatbuffers::uoffset_t), headers_at, header_count)) {
    return nullptr;
  }
  // VerifyVectorOfTables<Header>, parsing each header once it is verified. The two tables above
  // count against the Verifier's bound on tables.
  if (header_count > kMaxTables - 2) {
    return nullptr;
  }
  const Names wanted(names);
  size_t bad = SIZE_MAX;
  for (uint32_t i = 0; i < header_count; ++i) {
    const size_t element =
        headers_at + sizeof(flatbuffers::uoffset_t) + i * sizeof(flatbuffers::uoffset_t);
    // Vector::Get: any offset, unchecked; the table checks catch where it leads.
    const size_t header = element + buffer.read<flatbuffers::uoffset_t>(element);
    size_t name_at = 0;
    uint32_t name_length = 0;
    size_t value_at = 0;
    uint32_t value_length = 0;
    if (!buffer.tableStart(header, vtable, vtable_size) ||
        !buffer.vector(header, buffer.fieldOffset(vtable, vtable_size, Header::VT_NAME), 1, name_at,
                       name_length) ||
        !buffer.vector(header, buffer.fieldOffset(vtable, vtable_size, Header::VT_VALUE), 1,
                       value_at, value_length)) {
      clear();
      return nullptr;
    }
    take(wanted, buffer.bytes(name_at, name_length), buffer.bytes(value_at, value_length), bad);
  }
  finish(bad);
  return reinterpret_cast<const FetchDataEx*>(frame.extension + fetch);
}

size_t RequestHeaders::headerListSize(std::string_view authority) const {
  // Per field, as HTTP/2 counts it.
  constexpr size_t kFieldOverhead = 32;
  // :method, :scheme, te, content-type, user-agent, grpc-accept-encoding, grpc-timeout: what
  // gRPC C++ sends besides :path, :authority and the metadata, with room to spare.
  constexpr size_t kGrpcOwnHeaders = 512;
  size_t size = kGrpcOwnHeaders;
  size += sizeof(":path") - 1 + 2 + service.size() + method.size() + kFieldOverhead;
  size += sizeof(":authority") - 1 + authority.size() + kFieldOverhead;
  for (const MetadataView& entry : metadata) {
    // A binary entry goes out as "<name>-bin" with its value in base64, as it came.
    const size_t suffix = entry.type == zb::grpc::MetadataType::BASE64 ? 4 : 0;
    size += entry.name.size() + suffix + entry.value.size() + kFieldOverhead;
  }
  return size;
}

}  // namespace zb::kafka_grpc
