// extension_fuzz: arbitrary bytes as the extension of a frame, tagged once as a kafka extension
// and once as a grpc extension.
//
// readKafka / readGrpc must verify the buffer or refuse it; a verified buffer is walked field by
// field, every byte of every string and vector read (as a binding reads them), the request
// headers parsed the way the kafka-grpc binding parses a record's, and then the extension is
// rebuilt with an ExtensionWriter from what was read: the rebuilt buffer must verify and read back
// the same. A wrong type id, or any shorter length, must never verify as the other type.
#include "request_headers.h"  // binding/kafka-grpc

#include <zb/sdk/extension.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

namespace kafka = zb::kafka;
namespace grpc = zb::grpc;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr uint32_t kKafkaType = 1;
constexpr uint32_t kGrpcType = 2;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "extension_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

// ---- Reading: a description that names every field, absent ones included.

class Description {
 public:
  void field(const char* name, int64_t value) {
    text_ += name;
    text_ += '=';
    text_ += std::to_string(value);
    text_ += ' ';
  }
  // Bytes or text; absent ones are told apart from empty ones.
  template <typename T>
  void bytes(const char* name, const T* value) {
    text_ += name;
    if (value == nullptr) {
      text_ += "=<absent> ";
      return;
    }
    text_ += "=[";
    text_.append(reinterpret_cast<const char*>(value->data()), value->size());
    text_ += "] ";
  }
  void offset(const char* name, const kafka::Offset* value) {
    if (value == nullptr) {
      text_ += name;
      text_ += "=<absent> ";
      return;
    }
    text_ += name;
    text_ += "={";
    field("partition_id", value->partition_id());
    field("partition_offset", value->partition_offset());
    text_ += "} ";
  }
  void open(const char* name) {
    text_ += name;
    text_ += "{ ";
  }
  void close() { text_ += "} "; }
  const std::string& text() const { return text_; }
  void clear() { text_.clear(); }

 private:
  std::string text_;
};

void describeHeaders(const flatbuffers::Vector<Offset<kafka::Header>>* headers, Description& d) {
  if (headers == nullptr) {
    d.open("headers=<absent>");
    d.close();
    return;
  }
  d.open("headers");
  for (const kafka::Header* header : *headers) {
    d.bytes("name", header->name());
    d.bytes("value", header->value());
  }
  d.close();
}

// Returns false for a union member this reader does not know, or a vector of structs it cannot
// read (see partitions): such an extension is not rebuilt.
// A union's type may be set while its value is absent: the verifier accepts that, so readers
// (and this one) get nullptr from ex_as_*().
void describeInts(const char* name, const flatbuffers::Vector<int32_t>* ints, Description& d) {
  if (ints == nullptr) {
    return;
  }
  d.open(name);
  for (const int32_t i : *ints) {
    d.field("int", i);
  }
  d.close();
}

bool describe(const kafka::KafkaExtension& ext, Description& d) {
  d.field("ex_type", static_cast<int64_t>(ext.ex_type()));
  if (ext.ex_type() != kafka::KafkaEx::NONE && ext.ex() == nullptr) {
    d.field("ex_absent", 1);
    return true;
  }
  switch (ext.ex_type()) {
    case kafka::KafkaEx::NONE:
      return true;
    case kafka::KafkaEx::MergedBeginEx: {
      const kafka::MergedBeginEx* begin = ext.ex_as_MergedBeginEx();
      d.field("capabilities", static_cast<int64_t>(begin->capabilities()));
      d.bytes("topic", begin->topic());
      d.bytes("group_id", begin->group_id());
      if (const auto* partitions = begin->partitions()) {
        // FlatBuffers 2.0.8 verifies only the 4-byte alignment of a vector's length, not the
        // 8-byte alignment of Offset elements: reading a misaligned one would be undefined.
        // (No binding reads partitions today; one that does must check this too.)
        if (partitions->size() > 0 &&
            reinterpret_cast<uintptr_t>(partitions->Data()) % alignof(kafka::Offset) != 0) {
          return false;
        }
        d.open("partitions");
        for (const kafka::Offset* partition : *partitions) {
          d.offset("partition", partition);
        }
        d.close();
      }
      if (const auto* filters = begin->filters()) {
        d.open("filters");
        for (const kafka::Filter* filter : *filters) {
          d.open("filter");
          if (const auto* conditions = filter->conditions()) {
            for (const kafka::ConditionEntry* entry : *conditions) {
              d.field("condition_type", static_cast<int64_t>(entry->condition_type()));
              if (entry->condition_type() == kafka::Condition::NONE) {
                continue;  // a value under NONE is not verified: never read it
              }
              d.field("condition_absent", entry->condition() == nullptr);
              if (entry->condition() == nullptr) {
                continue;
              }
              if (const kafka::KeyCondition* key = entry->condition_as_KeyCondition()) {
                d.bytes("key", key->value());
              } else if (const kafka::HeaderCondition* header =
                             entry->condition_as_HeaderCondition()) {
                d.bytes("name", header->name());
                d.bytes("value", header->value());
              } else if (entry->condition_type() != kafka::Condition::NONE) {
                return false;
              }
            }
          }
          d.close();
        }
        d.close();
      }
      d.field("ack_mode", static_cast<int64_t>(begin->ack_mode()));
      return true;
    }
    case kafka::KafkaEx::FetchDataEx: {
      const kafka::FetchDataEx* data = ext.ex_as_FetchDataEx();
      d.field("deferred", data->deferred());
      d.field("timestamp", data->timestamp());
      d.offset("partition", data->partition());
      d.bytes("key", data->key());
      describeHeaders(data->headers(), d);
      return true;
    }
    case kafka::KafkaEx::ProduceDataEx: {
      const kafka::ProduceDataEx* data = ext.ex_as_ProduceDataEx();
      d.field("deferred", data->deferred());
      d.field("timestamp", data->timestamp());
      d.offset("partition", data->partition());
      d.bytes("key", data->key());
      describeHeaders(data->headers(), d);
      return true;
    }
    case kafka::KafkaEx::ConsumerFlushEx:
      d.offset("progress", ext.ex_as_ConsumerFlushEx()->progress());
      return true;
    case kafka::KafkaEx::ResetEx:
      d.field("error", ext.ex_as_ResetEx()->error());
      d.bytes("message", ext.ex_as_ResetEx()->message());
      return true;
    case kafka::KafkaEx::AssignmentFlushEx:
      describeInts("assigned", ext.ex_as_AssignmentFlushEx()->assigned(), d);
      describeInts("revoked", ext.ex_as_AssignmentFlushEx()->revoked(), d);
      return true;
    case kafka::KafkaEx::ConsumerReleaseEx:
      describeInts("partitions", ext.ex_as_ConsumerReleaseEx()->partitions(), d);
      return true;
  }
  return false;
}

bool describe(const grpc::GrpcExtension& ext, Description& d) {
  d.field("ex_type", static_cast<int64_t>(ext.ex_type()));
  if (ext.ex_type() != grpc::GrpcEx::NONE && ext.ex() == nullptr) {
    d.field("ex_absent", 1);
    return true;
  }
  switch (ext.ex_type()) {
    case grpc::GrpcEx::NONE:
      return true;
    case grpc::GrpcEx::BeginEx: {
      const grpc::BeginEx* begin = ext.ex_as_BeginEx();
      d.bytes("scheme", begin->scheme());
      d.bytes("authority", begin->authority());
      d.bytes("service", begin->service());
      d.bytes("method", begin->method());
      if (const auto* metadata = begin->metadata()) {
        d.open("metadata");
        for (const grpc::Metadata* entry : *metadata) {
          d.field("type", static_cast<int64_t>(entry->type()));
          d.bytes("name", entry->name());
          d.bytes("value", entry->value());
        }
        d.close();
      }
      d.field("deadline_ms", begin->deadline_ms());
      return true;
    }
    case grpc::GrpcEx::DataEx:
      d.field("deferred", ext.ex_as_DataEx()->deferred());
      return true;
    case grpc::GrpcEx::StatusEx:
      d.field("status", ext.ex_as_StatusEx()->status());
      d.bytes("message", ext.ex_as_StatusEx()->message());
      return true;
  }
  return false;
}

// ---- Rebuilding what was read, absent fields left absent.

template <typename T>
Offset<flatbuffers::Vector<uint8_t>> bytesOf(FlatBufferBuilder& fbb, const T* value) {
  if (value == nullptr) {
    return 0;
  }
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(value->data()), value->size());
}

Offset<flatbuffers::Vector<int32_t>> intsOf(FlatBufferBuilder& fbb,
                                            const flatbuffers::Vector<int32_t>* value) {
  return value != nullptr ? fbb.CreateVector(value->data(), value->size()) : 0;
}

Offset<flatbuffers::String> textOf(FlatBufferBuilder& fbb, const flatbuffers::String* value) {
  return value != nullptr ? fbb.CreateString(value->data(), value->size()) : 0;
}

Offset<flatbuffers::Vector<Offset<kafka::Header>>> headersOf(
    FlatBufferBuilder& fbb, const flatbuffers::Vector<Offset<kafka::Header>>* headers) {
  if (headers == nullptr) {
    return 0;
  }
  std::vector<Offset<kafka::Header>> out;
  for (const kafka::Header* header : *headers) {
    out.push_back(
        kafka::CreateHeader(fbb, bytesOf(fbb, header->name()), bytesOf(fbb, header->value())));
  }
  return fbb.CreateVector(out);
}

Offset<kafka::KafkaExtension> rebuild(FlatBufferBuilder& fbb, const kafka::KafkaExtension& ext) {
  Offset<void> value = 0;
  switch (ext.ex() != nullptr ? ext.ex_type() : kafka::KafkaEx::NONE) {
    case kafka::KafkaEx::NONE:
      break;
    case kafka::KafkaEx::MergedBeginEx: {
      const kafka::MergedBeginEx* begin = ext.ex_as_MergedBeginEx();
      Offset<flatbuffers::Vector<const kafka::Offset*>> partitions = 0;
      if (begin->partitions() != nullptr) {
        std::vector<kafka::Offset> copy;
        for (const kafka::Offset* partition : *begin->partitions()) {
          copy.push_back(*partition);
        }
        partitions = fbb.CreateVectorOfStructs(copy);
      }
      Offset<flatbuffers::Vector<Offset<kafka::Filter>>> filters = 0;
      if (begin->filters() != nullptr) {
        std::vector<Offset<kafka::Filter>> out;
        for (const kafka::Filter* filter : *begin->filters()) {
          Offset<flatbuffers::Vector<Offset<kafka::ConditionEntry>>> conditions = 0;
          if (filter->conditions() != nullptr) {
            std::vector<Offset<kafka::ConditionEntry>> entries;
            for (const kafka::ConditionEntry* entry : *filter->conditions()) {
              Offset<void> condition = 0;
              if (const kafka::KeyCondition* key = entry->condition_as_KeyCondition()) {
                condition = kafka::CreateKeyCondition(fbb, bytesOf(fbb, key->value())).Union();
              } else if (const kafka::HeaderCondition* header =
                             entry->condition_as_HeaderCondition()) {
                condition = kafka::CreateHeaderCondition(fbb, bytesOf(fbb, header->name()),
                                                         bytesOf(fbb, header->value()))
                                .Union();
              }
              entries.push_back(
                  kafka::CreateConditionEntry(fbb, entry->condition_type(), condition));
            }
            conditions = fbb.CreateVector(entries);
          }
          out.push_back(kafka::CreateFilter(fbb, conditions));
        }
        filters = fbb.CreateVector(out);
      }
      value = kafka::CreateMergedBeginEx(fbb, begin->capabilities(), textOf(fbb, begin->topic()),
                                         textOf(fbb, begin->group_id()), partitions, filters,
                                         begin->ack_mode())
                  .Union();
      break;
    }
    case kafka::KafkaEx::FetchDataEx: {
      const kafka::FetchDataEx* data = ext.ex_as_FetchDataEx();
      value = kafka::CreateFetchDataEx(fbb, data->deferred(), data->timestamp(), data->partition(),
                                       bytesOf(fbb, data->key()), headersOf(fbb, data->headers()))
                  .Union();
      break;
    }
    case kafka::KafkaEx::ProduceDataEx: {
      const kafka::ProduceDataEx* data = ext.ex_as_ProduceDataEx();
      value =
          kafka::CreateProduceDataEx(fbb, data->deferred(), data->timestamp(), data->partition(),
                                     bytesOf(fbb, data->key()), headersOf(fbb, data->headers()))
              .Union();
      break;
    }
    case kafka::KafkaEx::ConsumerFlushEx:
      value = kafka::CreateConsumerFlushEx(fbb, ext.ex_as_ConsumerFlushEx()->progress()).Union();
      break;
    case kafka::KafkaEx::ResetEx:
      value = kafka::CreateResetEx(fbb, ext.ex_as_ResetEx()->error(),
                                   textOf(fbb, ext.ex_as_ResetEx()->message()))
                  .Union();
      break;
    case kafka::KafkaEx::AssignmentFlushEx: {
      const kafka::AssignmentFlushEx* flush = ext.ex_as_AssignmentFlushEx();
      value = kafka::CreateAssignmentFlushEx(fbb, intsOf(fbb, flush->assigned()),
                                             intsOf(fbb, flush->revoked()))
                  .Union();
      break;
    }
    case kafka::KafkaEx::ConsumerReleaseEx:
      value = kafka::CreateConsumerReleaseEx(
                  fbb, intsOf(fbb, ext.ex_as_ConsumerReleaseEx()->partitions()))
                  .Union();
      break;
  }
  return kafka::CreateKafkaExtension(fbb, ext.ex_type(), value);
}

Offset<grpc::GrpcExtension> rebuild(FlatBufferBuilder& fbb, const grpc::GrpcExtension& ext) {
  Offset<void> value = 0;
  switch (ext.ex() != nullptr ? ext.ex_type() : grpc::GrpcEx::NONE) {
    case grpc::GrpcEx::NONE:
      break;
    case grpc::GrpcEx::BeginEx: {
      const grpc::BeginEx* begin = ext.ex_as_BeginEx();
      Offset<flatbuffers::Vector<Offset<grpc::Metadata>>> metadata = 0;
      if (begin->metadata() != nullptr) {
        std::vector<Offset<grpc::Metadata>> out;
        for (const grpc::Metadata* entry : *begin->metadata()) {
          out.push_back(grpc::CreateMetadata(fbb, entry->type(), bytesOf(fbb, entry->name()),
                                             bytesOf(fbb, entry->value())));
        }
        metadata = fbb.CreateVector(out);
      }
      value = grpc::CreateBeginEx(fbb, textOf(fbb, begin->scheme()),
                                  textOf(fbb, begin->authority()), textOf(fbb, begin->service()),
                                  textOf(fbb, begin->method()), metadata, begin->deadline_ms())
                  .Union();
      break;
    }
    case grpc::GrpcEx::DataEx:
      value = grpc::CreateDataEx(fbb, ext.ex_as_DataEx()->deferred()).Union();
      break;
    case grpc::GrpcEx::StatusEx:
      value = grpc::CreateStatusEx(fbb, ext.ex_as_StatusEx()->status(),
                                   textOf(fbb, ext.ex_as_StatusEx()->message()))
                  .Union();
      break;
  }
  return grpc::CreateGrpcExtension(fbb, ext.ex_type(), value);
}

zb_frame_t frameWith(const uint8_t* data, size_t size, uint32_t type_id) {
  zb_frame_t frame = zb::sdk::makeFrame(ZB_FRAME_DATA);
  frame.extension_type_id = type_id;
  frame.extension = data;
  frame.extension_length = static_cast<uint32_t>(size);
  return frame;
}

// What the kafka-grpc binding does with a record's and a reply's extension.
void readAsBinding(const kafka::KafkaExtension& ext) {
  static zb::kafka_grpc::RequestHeaders headers;
  static const zb::kafka_grpc::CorrelationHeaders names;
  static zb::kafka_grpc::MetadataStore store;
  if (const kafka::FetchDataEx* data = ext.ex_as_FetchDataEx()) {
    headers.parse(*data, names);
    store.clear();
    for (const zb::kafka_grpc::MetadataView& entry : headers.metadata) {
      store.add(entry.type, entry.name, entry.value);
    }
    if (headers.bad_base64 != nullptr && zb::kafka_grpc::isBase64(headers.bad_base64->value)) {
      fail("a -bin header flagged as not base64 is base64");
    }
  }
}

void readAsBinding(const grpc::GrpcExtension& ext) {
  static zb::kafka_grpc::MetadataStore store;
  if (const grpc::BeginEx* begin = ext.ex_as_BeginEx(); begin != nullptr && begin->metadata()) {
    store.clear();
    for (const grpc::Metadata* entry : *begin->metadata()) {
      store.add(entry->type(), zb::sdk::bytesOf(entry->name()), zb::sdk::bytesOf(entry->value()));
    }
  }
}

template <typename Root>
const Root* read(const zb_frame_t& frame);
template <>
const kafka::KafkaExtension* read(const zb_frame_t& frame) {
  return zb::sdk::readKafka(frame, kKafkaType);
}
template <>
const grpc::GrpcExtension* read(const zb_frame_t& frame) {
  return zb::sdk::readGrpc(frame, kGrpcType);
}

template <typename Root>
uint32_t typeOf();
template <>
uint32_t typeOf<kafka::KafkaExtension>() {
  return kKafkaType;
}
template <>
uint32_t typeOf<grpc::GrpcExtension>() {
  return kGrpcType;
}

template <typename Root>
void exercise(const uint8_t* data, size_t size) {
  static zb::sdk::ExtensionWriter writer;
  static Description before;
  static Description after;
  const uint32_t type = typeOf<Root>();
  const uint32_t other = type == kKafkaType ? kGrpcType : kKafkaType;

  const Root* root = read<Root>(frameWith(data, size, type));
  if (read<Root>(frameWith(data, size, other)) != nullptr ||
      read<Root>(frameWith(data, size, ZB_EXTENSION_NONE)) != nullptr ||
      read<Root>(frameWith(nullptr, size, type)) != nullptr) {
    fail("an extension verified under the wrong type id, or without bytes");
  }
  if (root == nullptr) {
    return;
  }
  before.clear();
  const bool known = describe(*root, before);
  readAsBinding(*root);
  if (!known) {
    return;  // a union member from a newer schema: readable, but not rebuildable here
  }

  FlatBufferBuilder& fbb = writer.start();
  const zb::sdk::Extension rebuilt =
      type == kKafkaType
          ? writer.finishKafka(rebuild(fbb, *reinterpret_cast<const kafka::KafkaExtension*>(root)),
                               type)
          : writer.finishGrpc(rebuild(fbb, *reinterpret_cast<const grpc::GrpcExtension*>(root)),
                              type);
  // A copy of exactly its size, so that an overread shows.
  std::vector<uint8_t> copy(rebuilt.data, rebuilt.data + rebuilt.length);
  const Root* again = read<Root>(frameWith(copy.data(), copy.size(), type));
  if (again == nullptr) {
    fail("an extension rebuilt from a verified one does not verify", before.text());
  }
  after.clear();
  describe(*again, after);
  if (before.text() != after.text()) {
    fail("an extension rebuilt from a verified one reads differently",
         "read:    " + before.text() + "\nrebuilt: " + after.text());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > UINT32_MAX) {
    return 0;
  }
  exercise<kafka::KafkaExtension>(data, size);
  exercise<grpc::GrpcExtension>(data, size);
  // Every proper prefix that still holds an identifier, read as a kafka extension: a buffer cut
  // short must be refused or read within its new end (ASan sees the copy's end).
  if (size >= 8 && size <= 512) {
    std::vector<uint8_t> prefix(data, data + size - 1 - data[size - 1] % (size - 7));
    exercise<kafka::KafkaExtension>(prefix.data(), prefix.size());
  }
  return 0;
}
