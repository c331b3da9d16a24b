// fuzz_seeds <corpus-dir>: writes the generated seeds of extension_fuzz (one valid extension of
// each kind) and frames_fuzz (scenarios in the ops of frames_ops.h) under <corpus-dir>/<harness>/.
// The seeds are committed; run this again after changing the extension schemas or the ops.
#include "frames_ops.h"

#include <zb/sdk/extension.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace kafka = zb::kafka;
namespace grpc = zb::grpc;
using flatbuffers::FlatBufferBuilder;
using zb::sdk::bytesIn;
using namespace zb::fuzz;

std::string g_dir;

void write(const std::string& harness, const std::string& name, const void* data, size_t size) {
  const std::string path = g_dir + "/" + harness + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// ---- extension_fuzz

void kafkaSeed(const char* name, FlatBufferBuilder& fbb, kafka::KafkaEx type,
               flatbuffers::Offset<void> value) {
  fbb.Finish(kafka::CreateKafkaExtension(fbb, type, value), kafka::KafkaExtensionIdentifier());
  write("extension_fuzz", name, fbb.GetBufferPointer(), fbb.GetSize());
  fbb.Clear();
}

void grpcSeed(const char* name, FlatBufferBuilder& fbb, grpc::GrpcEx type,
              flatbuffers::Offset<void> value) {
  fbb.Finish(grpc::CreateGrpcExtension(fbb, type, value), grpc::GrpcExtensionIdentifier());
  write("extension_fuzz", name, fbb.GetBufferPointer(), fbb.GetSize());
  fbb.Clear();
}

void extensionSeeds() {
  FlatBufferBuilder fbb;
  {
    std::vector<flatbuffers::Offset<kafka::ConditionEntry>> conditions;
    conditions.push_back(
        kafka::CreateConditionEntry(fbb, kafka::Condition::KeyCondition,
                                    kafka::CreateKeyCondition(fbb, bytesIn(fbb, "key")).Union()));
    conditions.push_back(kafka::CreateConditionEntry(
        fbb, kafka::Condition::HeaderCondition,
        kafka::CreateHeaderCondition(fbb, bytesIn(fbb, "zilla:reply-to"), bytesIn(fbb, "responses"))
            .Union()));
    const auto filter = kafka::CreateFilter(fbb, fbb.CreateVector(conditions));
    const kafka::Offset partition(-1, -2);
    const auto begin = kafka::CreateMergedBeginEx(
        fbb, kafka::Capabilities::FETCH_ONLY, fbb.CreateString("requests"),
        fbb.CreateString("zilla:fuzz-remote_server0"), fbb.CreateVectorOfStructs(&partition, 1),
        fbb.CreateVector(&filter, 1), kafka::AckMode::LEADER_ONLY);
    kafkaSeed("kafka-merged-fetch", fbb, kafka::KafkaEx::MergedBeginEx, begin.Union());
  }
  {
    const auto begin = kafka::CreateMergedBeginEx(fbb, kafka::Capabilities::PRODUCE_ONLY,
                                                  fbb.CreateString("responses"));
    kafkaSeed("kafka-merged-produce", fbb, kafka::KafkaEx::MergedBeginEx, begin.Union());
  }
  const auto headers = [&fbb] {
    std::vector<flatbuffers::Offset<kafka::Header>> out;
    for (const auto& [name, value] : std::vector<std::pair<const char*, const char*>>{
             {"zilla:service", "example.EchoService"},
             {"zilla:method", "EchoUnary"},
             {"zilla:correlation-id", "59410e57-3e0f-4b61-9328-000000000001"},
             {"zilla:reply-to", "responses"},
             {"meta:idempotency-key", "59410e57"},
             {"meta:trace-bin", "AAEC"}}) {
      out.push_back(kafka::CreateHeader(fbb, bytesIn(fbb, name), bytesIn(fbb, value)));
    }
    out.push_back(kafka::CreateHeader(fbb, bytesIn(fbb, "null-value")));
    return fbb.CreateVector(out);
  };
  {
    const kafka::Offset partition(2, 42);
    const auto all = headers();
    const auto data = kafka::CreateFetchDataEx(fbb, 100, 1700000000000, &partition,
                                               bytesIn(fbb, "59410e57"), all);
    kafkaSeed("kafka-fetch-data", fbb, kafka::KafkaEx::FetchDataEx, data.Union());
  }
  {
    const kafka::Offset partition(-1, -1);
    const auto all = headers();
    const auto data =
        kafka::CreateProduceDataEx(fbb, 0, 0, &partition, bytesIn(fbb, "59410e57"), all);
    kafkaSeed("kafka-produce-data", fbb, kafka::KafkaEx::ProduceDataEx, data.Union());
  }
  {
    const kafka::Offset progress(0, 43);
    kafkaSeed("kafka-consumer-flush", fbb, kafka::KafkaEx::ConsumerFlushEx,
              kafka::CreateConsumerFlushEx(fbb, &progress).Union());
  }
  kafkaSeed("kafka-reset", fbb, kafka::KafkaEx::ResetEx,
            kafka::CreateResetEx(fbb, 3, fbb.CreateString("UNKNOWN_TOPIC_OR_PART")).Union());
  {
    const std::vector<int32_t> assigned = {0, 2};
    const std::vector<int32_t> revoked = {1};
    kafkaSeed("kafka-assignment-flush", fbb, kafka::KafkaEx::AssignmentFlushEx,
              kafka::CreateAssignmentFlushExDirect(fbb, &assigned, &revoked).Union());
    kafkaSeed("kafka-consumer-release", fbb, kafka::KafkaEx::ConsumerReleaseEx,
              kafka::CreateConsumerReleaseExDirect(fbb, &revoked).Union());
  }
  {
    std::vector<flatbuffers::Offset<grpc::Metadata>> metadata;
    metadata.push_back(grpc::CreateMetadata(
        fbb, grpc::MetadataType::TEXT, bytesIn(fbb, "idempotency-key"), bytesIn(fbb, "59410e57")));
    metadata.push_back(grpc::CreateMetadata(fbb, grpc::MetadataType::BASE64, bytesIn(fbb, "trace"),
                                            bytesIn(fbb, "AAEC")));
    const auto begin =
        grpc::CreateBeginEx(fbb, fbb.CreateString("http"), fbb.CreateString("localhost:8080"),
                            fbb.CreateString("example.EchoService"), fbb.CreateString("EchoUnary"),
                            fbb.CreateVector(metadata), 1500);
    grpcSeed("grpc-begin", fbb, grpc::GrpcEx::BeginEx, begin.Union());
  }
  grpcSeed("grpc-data", fbb, grpc::GrpcEx::DataEx, grpc::CreateDataEx(fbb, 4096).Union());
  grpcSeed("grpc-status", fbb, grpc::GrpcEx::StatusEx,
           grpc::CreateStatusEx(fbb, 14, fbb.CreateString("unavailable")).Union());
}

// ---- frames_fuzz

class Ops {
 public:
  explicit Ops(uint8_t config_bits) { bytes_.push_back(static_cast<char>(config_bits)); }
  Ops& op(Op op) { return u8(op); }
  Ops& u8(unsigned value) {
    bytes_.push_back(static_cast<char>(value));
    return *this;
  }
  Ops& u16(unsigned value) { return u8(value & 0xff).u8(value >> 8); }
  Ops& text(const std::string& value) {
    u8(static_cast<unsigned>(value.size()));
    bytes_ += value;
    return *this;
  }

  Ops& pump() { return op(kPump); }
  // stream, id, headers, partition, value (0 tombstone, 1 empty, 2 bytes), length, fragment
  Ops& record(unsigned stream, unsigned id, unsigned headers, unsigned partition, unsigned value,
              unsigned length, unsigned fragment = 255) {
    return op(kRecord).u8(stream).u8(id).u8(headers).u8(partition).u8(value).u16(length).u8(
        fragment);
  }
  Ops& callBegin(unsigned stream) {
    return op(kCallBegin)
        .u8(stream)
        .u8(2)
        .u8(0)
        .text("custom")
        .text("value")
        .u8(1)
        .text("trace")
        .text("AAEC");
  }
  Ops& callData(unsigned stream, unsigned length, unsigned fragment = 255, unsigned rogue = 0) {
    return op(kCallData).u8(stream).u16(length).u8(fragment).u8(rogue);
  }
  Ops& callEnd(unsigned stream) { return op(kCallEnd).u8(stream); }
  Ops& advance(unsigned ms) { return op(kAdvance).u16(ms); }

  void save(const char* name) const { write("frames_fuzz", name, bytes_.data(), bytes_.size()); }

 private:
  std::string bytes_;
};

constexpr unsigned kRequest = 0x0f;  // service, method, reply-to, idempotency key

// A whole unary exchange: request record and tombstone, the call, its reply and status records,
// the commit; `bits` picks the binding's options.
Ops& unary(Ops& ops, unsigned id, unsigned partition = 0) {
  return ops.record(0, id, kRequest, partition, 2, 11)
      .record(0, id, kRequest, partition, 0, 0)
      .pump()
      .callBegin(0)
      .pump()
      .callData(0, 11)
      .callEnd(0)
      .pump()
      .pump();
}

void frameSeeds() {
  {
    Ops ops(0);
    ops.pump();
    unary(ops, 0);
    ops.save("unary");
  }
  {
    Ops ops(kAcksNone | kCustomHeaders);
    ops.pump();
    unary(ops, 1, 1);
    ops.save("unary-custom-headers");
  }
  {
    // 8000-byte request and reply in fragments, with small windows on the way.
    Ops ops(0);
    ops.pump()
        .record(0, 1, kRequest, 0, 2, 8000, 10)
        .record(0, 1, kRequest, 0, 0, 0)
        .op(kCallWindow)
        .u8(0)
        .u16(0)
        .u16(1000)
        .u8(0)
        .pump()
        .callBegin(0)
        .op(kProduceWindow)
        .u8(0)
        .u16(0)
        .u16(2000)
        .u8(1)
        .callData(0, 8000, 20)
        .pump()
        .op(kContinue)
        .u8(0x80)
        .pump()
        .callEnd(0)
        .pump()
        .pump();
    ops.save("fragments");
  }
  {
    // UNAVAILABLE before any byte was taken: retried after a backoff.
    Ops ops(kQuickRetry);
    ops.pump()
        .record(0, 0, kRequest, 0, 2, 11)
        .record(0, 0, kRequest, 0, 0, 0)
        .op(kCallReset)
        .u8(0)
        .u8(0)
        .text("connection refused")
        .advance(5)
        .pump()
        .callBegin(0)
        .pump()
        .callData(0, 11)
        .callEnd(0)
        .pump()
        .pump();
    ops.save("retry-unavailable");
  }
  {
    Ops ops(kDeadline);
    ops.pump().record(0, 2, kRequest, 0, 2, 11).pump().advance(100).pump().pump();
    ops.save("deadline");
  }
  {
    // Three correlation ids interleaved on one partition, one call in flight at a time.
    Ops ops(kOneInFlight);
    ops.pump();
    for (unsigned id = 0; id < 3; ++id) {
      ops.record(0, id, kRequest, 0, 2, 11);
    }
    for (unsigned id = 0; id < 3; ++id) {
      ops.record(0, id, kRequest, 0, 0, 0);
    }
    for (unsigned call = 0; call < 3; ++call) {
      ops.pump().callBegin(0).pump().callData(0, 11).callEnd(0).pump().pump();
    }
    ops.save("interleaved-one-in-flight");
  }
  {
    // No correlation id: dead-lettered; a bad -bin header and a missing method: answered.
    Ops ops(kDeadLetter);
    ops.pump()
        .record(0, 4, 0x07, 0, 2, 11)
        .record(0, 1, 0x25, 1, 2, 11)
        .record(0, 2, 0x05, 2, 2, 11)
        .pump()
        .pump()
        .op(kProduceEnd)
        .u8(0)
        .pump();
    ops.save("unanswerable");
  }
  {
    // The service fails the call with a status and a message.
    Ops ops(0);
    ops.pump()
        .record(0, 3, kRequest, 0, 2, 11)
        .pump()
        .callBegin(0)
        .op(kCallAbort)
        .u8(0)
        .u8(1)
        .text("bad request")
        .pump()
        .pump();
    ops.save("error-status");
  }
  {
    // The fetch stream ends and is reopened after a backoff; a second route with filters.
    Ops ops(kTwoRoutes);
    ops.pump().record(1, 1, 0xff, 0, 2, 11).op(kKafkaClose).u8(0).u8(0).advance(2000).pump();
    unary(ops, 0);
    ops.save("fetch-reopened");
  }
  {
    // Peers that misbehave: a DATA with a fuzzed FetchDataEx, a call reply beyond its window,
    // and a raw WINDOW with an odd acknowledge.
    Ops ops(0);
    ops.pump()
        .op(kRawData)
        .u8(0)
        .u8(ZB_DATA_COMPLETE)
        .u8(1)
        .text("payload")
        .u8(1)
        .u8(0)
        .u16(5)
        .u8(7)
        .u8(1)
        .u8(2)
        .u8(2)
        .text("c9")
        .u8(3)
        .text("responses")
        .pump()
        .callBegin(0)
        .callData(0, 4000, 255, 1)
        .op(kRawFrame)
        .u8(1)
        .u8(0)
        .u8(6)
        .u8(0)
        .u8(1)
        .u8(200)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .pump();
    ops.save("misbehaving-peers");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <corpus-dir>\n");
    return 2;
  }
  g_dir = argv[1];
  std::filesystem::create_directories(g_dir + "/extension_fuzz");
  std::filesystem::create_directories(g_dir + "/frames_fuzz");
  extensionSeeds();
  frameSeeds();
  return 0;
}
