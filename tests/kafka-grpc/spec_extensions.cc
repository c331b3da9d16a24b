#include "spec_extensions.h"

#include <map>

namespace zb::kafka_grpc::spec {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// Field names and defaults, in print order, per extension kind.
const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& kinds() {
  static const std::map<std::string, std::vector<std::pair<std::string, std::string>>> table = {
      {"MergedBeginEx",
       {{"capabilities", "FETCH_ONLY"},
        {"topic", "null"},
        {"group-id", "null"},
        {"partitions", "[]"},
        {"filters", "[]"},
        {"ack-mode", "IN_SYNC_REPLICAS"}}},
      {"FetchDataEx",
       {{"deferred", "0"},
        {"timestamp", "0"},
        {"partition", "null"},
        {"key", "null"},
        {"headers", "[]"}}},
      {"ProduceDataEx",
       {{"deferred", "0"},
        {"timestamp", "0"},
        {"partition", "null"},
        {"key", "null"},
        {"headers", "[]"}}},
      {"ConsumerFlushEx", {{"progress", "null"}}},
      {"AssignmentFlushEx", {{"assigned", "[]"}, {"revoked", "[]"}}},
      {"ConsumerReleaseEx", {{"partitions", "[]"}}},
      {"ResetEx", {{"error", "0"}, {"message", "null"}}},
      {"BeginEx",
       {{"scheme", "null"},
        {"authority", "null"},
        {"service", "null"},
        {"method", "null"},
        {"metadata", "[]"},
        {"deadline-ms", "0"}}},
      {"DataEx", {{"deferred", "0"}}},
      {"StatusEx", {{"status", "0"}, {"message", "null"}}},
  };
  return table;
}

Value bytesValue(const flatbuffers::Vector<uint8_t>* bytes) {
  return bytes != nullptr ? Value::string(sdk::bytesOf(bytes)) : Value::null();
}
Value textValue(const flatbuffers::String* text) {
  return text != nullptr ? Value::string(sdk::textOf(text)) : Value::null();
}
Value offsetValue(const zb::kafka::Offset* offset) {
  return offset != nullptr ? Value::pair(Value::integer(offset->partition_id()),
                                         Value::integer(offset->partition_offset()))
                           : Value::null();
}
Value intsValue(const flatbuffers::Vector<int32_t>* ints) {
  Value list = Value::list({});
  if (ints != nullptr) {
    for (const int32_t i : *ints) {
      list.items.push_back(Value::integer(i));
    }
  }
  return list;
}
Value headersValue(const flatbuffers::Vector<Offset<zb::kafka::Header>>* headers) {
  Value list = Value::list({});
  if (headers != nullptr) {
    for (const zb::kafka::Header* h : *headers) {
      list.items.push_back(Value::pair(bytesValue(h->name()), bytesValue(h->value())));
    }
  }
  return list;
}

void set(DecodedExtension& out, const char* name, Value value) {
  out.fields.push_back(Field{name, std::move(value)});
}

DecodedExtension decodeKafka(const zb::kafka::KafkaExtension& ext) {
  DecodedExtension out;
  switch (ext.ex_type()) {
    case zb::kafka::KafkaEx::MergedBeginEx: {
      const auto* b = ext.ex_as_MergedBeginEx();
      out.kind = "MergedBeginEx";
      set(out, "capabilities", Value::word(zb::kafka::EnumNameCapabilities(b->capabilities())));
      set(out, "topic", textValue(b->topic()));
      set(out, "group-id", textValue(b->group_id()));
      Value partitions = Value::list({});
      if (b->partitions() != nullptr) {
        for (const zb::kafka::Offset* o : *b->partitions()) {
          partitions.items.push_back(offsetValue(o));
        }
      }
      set(out, "partitions", std::move(partitions));
      Value filters = Value::list({});
      if (b->filters() != nullptr) {
        for (const zb::kafka::Filter* f : *b->filters()) {
          Value conditions = Value::list({});
          if (f->conditions() != nullptr) {
            for (const zb::kafka::ConditionEntry* c : *f->conditions()) {
              if (const auto* key = c->condition_as_KeyCondition()) {
                conditions.items.push_back(Value::call("key", {bytesValue(key->value())}));
              } else if (const auto* header = c->condition_as_HeaderCondition()) {
                conditions.items.push_back(Value::call(
                    "header", {bytesValue(header->name()), bytesValue(header->value())}));
              } else {
                conditions.items.push_back(Value::word("unknown"));
              }
            }
          }
          filters.items.push_back(std::move(conditions));
        }
      }
      set(out, "filters", std::move(filters));
      set(out, "ack-mode", Value::word(zb::kafka::EnumNameAckMode(b->ack_mode())));
      break;
    }
    case zb::kafka::KafkaEx::FetchDataEx: {
      const auto* d = ext.ex_as_FetchDataEx();
      out.kind = "FetchDataEx";
      set(out, "deferred", Value::integer(d->deferred()));
      set(out, "timestamp", Value::integer(d->timestamp()));
      set(out, "partition", offsetValue(d->partition()));
      set(out, "key", bytesValue(d->key()));
      set(out, "headers", headersValue(d->headers()));
      break;
    }
    case zb::kafka::KafkaEx::ProduceDataEx: {
      const auto* d = ext.ex_as_ProduceDataEx();
      out.kind = "ProduceDataEx";
      set(out, "deferred", Value::integer(d->deferred()));
      set(out, "timestamp", Value::integer(d->timestamp()));
      set(out, "partition", offsetValue(d->partition()));
      set(out, "key", bytesValue(d->key()));
      set(out, "headers", headersValue(d->headers()));
      break;
    }
    case zb::kafka::KafkaEx::ConsumerFlushEx:
      out.kind = "ConsumerFlushEx";
      set(out, "progress", offsetValue(ext.ex_as_ConsumerFlushEx()->progress()));
      break;
    case zb::kafka::KafkaEx::ResetEx:
      out.kind = "ResetEx";
      set(out, "error", Value::integer(ext.ex_as_ResetEx()->error()));
      set(out, "message", textValue(ext.ex_as_ResetEx()->message()));
      break;
    case zb::kafka::KafkaEx::AssignmentFlushEx:
      out.kind = "AssignmentFlushEx";
      set(out, "assigned", intsValue(ext.ex_as_AssignmentFlushEx()->assigned()));
      set(out, "revoked", intsValue(ext.ex_as_AssignmentFlushEx()->revoked()));
      break;
    case zb::kafka::KafkaEx::ConsumerReleaseEx:
      out.kind = "ConsumerReleaseEx";
      set(out, "partitions", intsValue(ext.ex_as_ConsumerReleaseEx()->partitions()));
      break;
    default:
      out.kind = "KafkaExtension(empty)";
  }
  return out;
}

DecodedExtension decodeGrpc(const zb::grpc::GrpcExtension& ext) {
  DecodedExtension out;
  switch (ext.ex_type()) {
    case zb::grpc::GrpcEx::BeginEx: {
      const auto* b = ext.ex_as_BeginEx();
      out.kind = "BeginEx";
      set(out, "scheme", textValue(b->scheme()));
      set(out, "authority", textValue(b->authority()));
      set(out, "service", textValue(b->service()));
      set(out, "method", textValue(b->method()));
      Value metadata = Value::list({});
      if (b->metadata() != nullptr) {
        for (const zb::grpc::Metadata* m : *b->metadata()) {
          metadata.items.push_back(
              Value::call(m->type() == zb::grpc::MetadataType::BASE64 ? "base64" : "text",
                          {bytesValue(m->name()), bytesValue(m->value())}));
        }
      }
      set(out, "metadata", std::move(metadata));
      set(out, "deadline-ms", Value::integer(b->deadline_ms()));
      break;
    }
    case zb::grpc::GrpcEx::DataEx:
      out.kind = "DataEx";
      set(out, "deferred", Value::integer(ext.ex_as_DataEx()->deferred()));
      break;
    case zb::grpc::GrpcEx::StatusEx:
      out.kind = "StatusEx";
      set(out, "status", Value::integer(ext.ex_as_StatusEx()->status()));
      set(out, "message", textValue(ext.ex_as_StatusEx()->message()));
      break;
    default:
      out.kind = "GrpcExtension(empty)";
  }
  return out;
}

const Value* field(const std::vector<Field>& fields, const char* name) {
  for (const Field& f : fields) {
    if (f.name == name) {
      return &f.value;
    }
  }
  return nullptr;
}

bool isString(const Value* v) { return v != nullptr && v->kind == Value::Kind::kString; }

Offset<flatbuffers::Vector<uint8_t>> bytesOrNull(FlatBufferBuilder& fbb, const Value* v) {
  return isString(v) ? sdk::bytesIn(fbb, v->text) : 0;
}
Offset<flatbuffers::String> stringOrNull(FlatBufferBuilder& fbb, const Value* v) {
  return isString(v) ? fbb.CreateString(v->text) : 0;
}
std::vector<int32_t> intsOf(const Value* v) {
  std::vector<int32_t> ints;
  if (v != nullptr) {
    for (const Value& item : v->items) {
      ints.push_back(static_cast<int32_t>(item.number));
    }
  }
  return ints;
}

int64_t intOr(const Value* v, int64_t fallback) {
  return v != nullptr && v->kind == Value::Kind::kInt ? v->number : fallback;
}
bool offsetOf(const Value* v, zb::kafka::Offset& out) {
  if (v == nullptr || v->kind != Value::Kind::kPair) {
    return false;
  }
  out = zb::kafka::Offset(static_cast<int32_t>(v->items[0].number), v->items[1].number);
  return true;
}

Offset<flatbuffers::Vector<Offset<zb::kafka::Header>>> headersOf(FlatBufferBuilder& fbb,
                                                                 const Value* v) {
  std::vector<Offset<zb::kafka::Header>> headers;
  if (v != nullptr) {
    for (const Value& h : v->items) {
      if (h.kind != Value::Kind::kPair) {
        continue;
      }
      Offset<flatbuffers::Vector<uint8_t>> value = bytesOrNull(fbb, &h.items[1]);
      if (h.items[1].kind == Value::Kind::kCall) {
        // A constructor, e.g. fill("a", 9000) for a large value.
        std::string error;
        if (const std::optional<std::string> bytes = payloadBytes(h.items[1], error)) {
          value = sdk::bytesIn(fbb, *bytes);
        }
      }
      headers.push_back(zb::kafka::CreateHeader(fbb, bytesOrNull(fbb, &h.items[0]), value));
    }
  }
  return fbb.CreateVector(headers);
}

}  // namespace

DecodedExtension decodeExtension(const zb_frame_t& frame, const TypeIds& ids) {
  if (frame.extension == nullptr || frame.extension_type_id == ZB_EXTENSION_NONE) {
    return DecodedExtension{};
  }
  if (frame.extension_type_id == ids.kafka) {
    if (const auto* ext = sdk::readKafka(frame, ids.kafka)) {
      return decodeKafka(*ext);
    }
  } else if (frame.extension_type_id == ids.grpc) {
    if (const auto* ext = sdk::readGrpc(frame, ids.grpc)) {
      return decodeGrpc(*ext);
    }
  }
  DecodedExtension invalid;
  invalid.kind = "invalid(type " + std::to_string(frame.extension_type_id) + ")";
  return invalid;
}

bool expectedExtension(const std::string& kind, const std::vector<Field>& given,
                       DecodedExtension& out, std::string& error) {
  out = DecodedExtension{};
  if (kind.empty()) {
    return true;
  }
  auto it = kinds().find(kind);
  if (it == kinds().end()) {
    error = "unknown extension kind " + kind;
    return false;
  }
  out.kind = kind;
  for (const auto& [name, fallback] : it->second) {
    std::string parse_error;
    out.fields.push_back(Field{name, *parseValue(fallback, parse_error)});
  }
  for (const Field& f : given) {
    bool known = false;
    for (Field& slot : out.fields) {
      if (slot.name == f.name) {
        slot.value = f.value;
        known = true;
      }
    }
    if (!known) {
      error = kind + " has no field " + f.name;
      return false;
    }
  }
  return true;
}

std::string compareExtensions(const DecodedExtension& expected, const DecodedExtension& actual) {
  if (expected.kind != actual.kind) {
    return "extension: expected " + (expected.kind.empty() ? "none" : expected.kind) + ", got " +
           (actual.kind.empty() ? "none" : actual.kind);
  }
  std::string differences;
  for (size_t i = 0; i < expected.fields.size() && i < actual.fields.size(); ++i) {
    const Value& want = expected.fields[i].value;
    if (want.kind == Value::Kind::kAny) {
      continue;
    }
    const std::string a = print(want);
    const std::string b = print(actual.fields[i].value);
    if (a != b) {
      differences += "  " + expected.kind + "." + expected.fields[i].name + ": expected " +
                     print(want, true) + "\n" +
                     std::string(expected.kind.size() + 4 + expected.fields[i].name.size(), ' ') +
                     "   got " + print(actual.fields[i].value, true) + "\n";
    }
  }
  return differences;
}

bool encodeExtension(const std::string& kind, const std::vector<Field>& fields,
                     sdk::ExtensionWriter& writer, const TypeIds& ids, sdk::Extension& out,
                     std::string& error) {
  DecodedExtension check;
  if (!expectedExtension(kind, fields, check, error)) {
    return false;
  }
  FlatBufferBuilder& fbb = writer.start();
  const auto kafka = [&](zb::kafka::KafkaEx type, Offset<void> root) {
    out = writer.finishKafka(zb::kafka::CreateKafkaExtension(fbb, type, root), ids.kafka);
  };
  const auto grpc = [&](zb::grpc::GrpcEx type, Offset<void> root) {
    out = writer.finishGrpc(zb::grpc::CreateGrpcExtension(fbb, type, root), ids.grpc);
  };
  if (kind == "MergedBeginEx") {
    const Value* caps = field(fields, "capabilities");
    zb::kafka::Capabilities capabilities = zb::kafka::Capabilities::FETCH_ONLY;
    if (caps != nullptr && caps->text == "PRODUCE_ONLY") {
      capabilities = zb::kafka::Capabilities::PRODUCE_ONLY;
    } else if (caps != nullptr && caps->text == "PRODUCE_AND_FETCH") {
      capabilities = zb::kafka::Capabilities::PRODUCE_AND_FETCH;
    }
    const Value* ack = field(fields, "ack-mode");
    zb::kafka::AckMode ack_mode = zb::kafka::AckMode::IN_SYNC_REPLICAS;
    if (ack != nullptr && ack->text == "NONE") {
      ack_mode = zb::kafka::AckMode::NONE;
    } else if (ack != nullptr && ack->text == "LEADER_ONLY") {
      ack_mode = zb::kafka::AckMode::LEADER_ONLY;
    }
    std::vector<zb::kafka::Offset> partitions;
    if (const Value* p = field(fields, "partitions")) {
      for (const Value& item : p->items) {
        zb::kafka::Offset o;
        if (offsetOf(&item, o)) {
          partitions.push_back(o);
        }
      }
    }
    std::vector<Offset<zb::kafka::Filter>> filters;
    if (const Value* f = field(fields, "filters")) {
      for (const Value& filter : f->items) {
        std::vector<Offset<zb::kafka::ConditionEntry>> conditions;
        for (const Value& c : filter.items) {
          if (c.kind == Value::Kind::kCall && c.text == "key" && c.items.size() == 1) {
            const auto key = zb::kafka::CreateKeyCondition(fbb, bytesOrNull(fbb, &c.items[0]));
            conditions.push_back(zb::kafka::CreateConditionEntry(
                fbb, zb::kafka::Condition::KeyCondition, key.Union()));
          } else if (c.kind == Value::Kind::kCall && c.text == "header" && c.items.size() == 2) {
            const auto h = zb::kafka::CreateHeaderCondition(fbb, bytesOrNull(fbb, &c.items[0]),
                                                            bytesOrNull(fbb, &c.items[1]));
            conditions.push_back(zb::kafka::CreateConditionEntry(
                fbb, zb::kafka::Condition::HeaderCondition, h.Union()));
          }
        }
        filters.push_back(zb::kafka::CreateFilter(fbb, fbb.CreateVector(conditions)));
      }
    }
    const auto begin = zb::kafka::CreateMergedBeginEx(
        fbb, capabilities, stringOrNull(fbb, field(fields, "topic")),
        stringOrNull(fbb, field(fields, "group-id")), fbb.CreateVectorOfStructs(partitions),
        fbb.CreateVector(filters), ack_mode);
    kafka(zb::kafka::KafkaEx::MergedBeginEx, begin.Union());
  } else if (kind == "FetchDataEx" || kind == "ProduceDataEx") {
    zb::kafka::Offset partition;
    const bool has_partition = offsetOf(field(fields, "partition"), partition);
    const auto key = bytesOrNull(fbb, field(fields, "key"));
    const auto headers = headersOf(fbb, field(fields, "headers"));
    const auto deferred = static_cast<int32_t>(intOr(field(fields, "deferred"), 0));
    const int64_t timestamp = intOr(field(fields, "timestamp"), 0);
    if (kind == "FetchDataEx") {
      const auto data = zb::kafka::CreateFetchDataEx(
          fbb, deferred, timestamp, has_partition ? &partition : nullptr, key, headers);
      kafka(zb::kafka::KafkaEx::FetchDataEx, data.Union());
    } else {
      const auto data = zb::kafka::CreateProduceDataEx(
          fbb, deferred, timestamp, has_partition ? &partition : nullptr, key, headers);
      kafka(zb::kafka::KafkaEx::ProduceDataEx, data.Union());
    }
  } else if (kind == "ConsumerFlushEx") {
    zb::kafka::Offset progress;
    const bool has = offsetOf(field(fields, "progress"), progress);
    kafka(zb::kafka::KafkaEx::ConsumerFlushEx,
          zb::kafka::CreateConsumerFlushEx(fbb, has ? &progress : nullptr).Union());
  } else if (kind == "AssignmentFlushEx") {
    const std::vector<int32_t> assigned = intsOf(field(fields, "assigned"));
    const std::vector<int32_t> revoked = intsOf(field(fields, "revoked"));
    kafka(zb::kafka::KafkaEx::AssignmentFlushEx,
          zb::kafka::CreateAssignmentFlushExDirect(fbb, &assigned, &revoked).Union());
  } else if (kind == "ConsumerReleaseEx") {
    const std::vector<int32_t> partitions = intsOf(field(fields, "partitions"));
    kafka(zb::kafka::KafkaEx::ConsumerReleaseEx,
          zb::kafka::CreateConsumerReleaseExDirect(fbb, &partitions).Union());
  } else if (kind == "ResetEx") {
    const auto message = stringOrNull(fbb, field(fields, "message"));
    kafka(zb::kafka::KafkaEx::ResetEx,
          zb::kafka::CreateResetEx(fbb, static_cast<int32_t>(intOr(field(fields, "error"), 0)),
                                   message)
              .Union());
  } else if (kind == "BeginEx") {
    std::vector<Offset<zb::grpc::Metadata>> metadata;
    if (const Value* m = field(fields, "metadata")) {
      for (const Value& entry : m->items) {
        if (entry.kind == Value::Kind::kCall && entry.items.size() == 2) {
          metadata.push_back(zb::grpc::CreateMetadata(
              fbb,
              entry.text == "base64" ? zb::grpc::MetadataType::BASE64
                                     : zb::grpc::MetadataType::TEXT,
              bytesOrNull(fbb, &entry.items[0]), bytesOrNull(fbb, &entry.items[1])));
        }
      }
    }
    const auto begin = zb::grpc::CreateBeginEx(
        fbb, stringOrNull(fbb, field(fields, "scheme")),
        stringOrNull(fbb, field(fields, "authority")), stringOrNull(fbb, field(fields, "service")),
        stringOrNull(fbb, field(fields, "method")), fbb.CreateVector(metadata),
        static_cast<int32_t>(intOr(field(fields, "deadline-ms"), 0)));
    grpc(zb::grpc::GrpcEx::BeginEx, begin.Union());
  } else if (kind == "DataEx") {
    grpc(zb::grpc::GrpcEx::DataEx,
         zb::grpc::CreateDataEx(fbb, static_cast<int32_t>(intOr(field(fields, "deferred"), 0)))
             .Union());
  } else if (kind == "StatusEx") {
    const auto message = stringOrNull(fbb, field(fields, "message"));
    grpc(zb::grpc::GrpcEx::StatusEx,
         zb::grpc::CreateStatusEx(fbb, static_cast<int32_t>(intOr(field(fields, "status"), 0)),
                                  message)
             .Union());
  } else {
    error = "cannot write extension kind " + kind;
    return false;
  }
  return true;
}

}  // namespace zb::kafka_grpc::spec
