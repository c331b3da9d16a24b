// Frame extensions: what one binding writes, another reads back field for field; corrupt or
// mistyped bytes are refused (nullptr), never read.
#include <zb/sdk/extension.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

namespace fb = flatbuffers;
namespace kafka = zb::kafka;
namespace grpc = zb::grpc;
using zb::sdk::bytesIn;
using zb::sdk::bytesOf;
using zb::sdk::textOf;

constexpr uint32_t kKafkaType = 7;
constexpr uint32_t kGrpcType = 8;

zb_frame_t frameWith(const zb::sdk::Extension& ext) {
  zb_frame_t frame = zb::sdk::makeFrame(ZB_FRAME_DATA);
  zb::sdk::setExtension(frame, ext);
  return frame;
}

}  // namespace

TEST_CASE("kafka fetch DATA extension round trip") {
  zb::sdk::ExtensionWriter writer;
  fb::FlatBufferBuilder& b = writer.start();
  std::vector<fb::Offset<kafka::Header>> headers = {
      kafka::CreateHeader(b, bytesIn(b, "zilla:correlation-id"), bytesIn(b, "c-1")),
      kafka::CreateHeader(b, bytesIn(b, "meta:custom-bin"), bytesIn(b, "dGVzdA==")),
  };
  const kafka::Offset partition(3, 42);
  auto fetch = kafka::CreateFetchDataEx(b, 94217, 1700000000000, &partition, bytesIn(b, "key-1"),
                                        b.CreateVector(headers));
  auto root = kafka::CreateKafkaExtension(b, kafka::KafkaEx::FetchDataEx, fetch.Union());
  const zb_frame_t frame = frameWith(writer.finishKafka(root, kKafkaType));

  const kafka::KafkaExtension* ext = zb::sdk::readKafka(frame, kKafkaType);
  REQUIRE(ext != nullptr);
  const kafka::FetchDataEx* data = ext->ex_as_FetchDataEx();
  REQUIRE(data != nullptr);
  CHECK(data->deferred() == 94217);
  CHECK(data->timestamp() == 1700000000000);
  CHECK(data->partition()->partition_id() == 3);
  CHECK(data->partition()->partition_offset() == 42);
  CHECK(bytesOf(data->key()) == "key-1");
  REQUIRE(data->headers()->size() == 2);
  CHECK(bytesOf(data->headers()->Get(1)->name()) == "meta:custom-bin");
  CHECK(bytesOf(data->headers()->Get(1)->value()) == "dGVzdA==");
  CHECK(ext->ex_as_ProduceDataEx() == nullptr);
}

TEST_CASE("kafka merged BEGIN with filters, consumer FLUSH and RESET round trip") {
  zb::sdk::ExtensionWriter writer;
  {
    fb::FlatBufferBuilder& b = writer.start();
    auto key = kafka::CreateKeyCondition(b, bytesIn(b, "k"));
    auto header = kafka::CreateHeaderCondition(b, bytesIn(b, "zilla:service"), bytesIn(b, "svc"));
    std::vector<fb::Offset<kafka::ConditionEntry>> conditions = {
        kafka::CreateConditionEntry(b, kafka::Condition::KeyCondition, key.Union()),
        kafka::CreateConditionEntry(b, kafka::Condition::HeaderCondition, header.Union())};
    std::vector<fb::Offset<kafka::Filter>> filters = {
        kafka::CreateFilter(b, b.CreateVector(conditions))};
    std::vector<kafka::Offset> partitions = {kafka::Offset(-1, -2)};
    auto begin = kafka::CreateMergedBeginEx(
        b, kafka::Capabilities::FETCH_ONLY, b.CreateString("requests"),
        b.CreateString("zilla:test-remote_server0"), b.CreateVectorOfStructs(partitions),
        b.CreateVector(filters), kafka::AckMode::LEADER_ONLY);
    auto root = kafka::CreateKafkaExtension(b, kafka::KafkaEx::MergedBeginEx, begin.Union());
    const zb_frame_t frame = frameWith(writer.finishKafka(root, kKafkaType));
    const auto* ext = zb::sdk::readKafka(frame, kKafkaType);
    REQUIRE(ext != nullptr);
    const auto* merged = ext->ex_as_MergedBeginEx();
    REQUIRE(merged != nullptr);
    CHECK(merged->capabilities() == kafka::Capabilities::FETCH_ONLY);
    CHECK(textOf(merged->topic()) == "requests");
    CHECK(textOf(merged->group_id()) == "zilla:test-remote_server0");
    CHECK(merged->partitions()->Get(0)->partition_offset() == -2);
    CHECK(merged->ack_mode() == kafka::AckMode::LEADER_ONLY);
    const auto* conds = merged->filters()->Get(0)->conditions();
    REQUIRE(conds->size() == 2);
    CHECK(bytesOf(conds->Get(0)->condition_as_KeyCondition()->value()) == "k");
    CHECK(bytesOf(conds->Get(1)->condition_as_HeaderCondition()->name()) == "zilla:service");
  }
  {
    fb::FlatBufferBuilder& b = writer.start();
    const kafka::Offset progress(0, 2);
    auto flush = kafka::CreateConsumerFlushEx(b, &progress);
    auto root = kafka::CreateKafkaExtension(b, kafka::KafkaEx::ConsumerFlushEx, flush.Union());
    const zb_frame_t frame = frameWith(writer.finishKafka(root, kKafkaType));
    const auto* ext = zb::sdk::readKafka(frame, kKafkaType);
    REQUIRE(ext != nullptr);
    CHECK(ext->ex_as_ConsumerFlushEx()->progress()->partition_offset() == 2);
  }
  {
    fb::FlatBufferBuilder& b = writer.start();
    auto reset = kafka::CreateResetEx(b, 3, b.CreateString("Unknown topic or partition"));
    auto root = kafka::CreateKafkaExtension(b, kafka::KafkaEx::ResetEx, reset.Union());
    const zb_frame_t frame = frameWith(writer.finishKafka(root, kKafkaType));
    const auto* ext = zb::sdk::readKafka(frame, kKafkaType);
    REQUIRE(ext != nullptr);
    CHECK(ext->ex_as_ResetEx()->error() == 3);
    CHECK(textOf(ext->ex_as_ResetEx()->message()) == "Unknown topic or partition");
  }
}

TEST_CASE("grpc BEGIN, DATA and status extensions round trip") {
  zb::sdk::ExtensionWriter writer;
  fb::FlatBufferBuilder& b = writer.start();
  std::vector<fb::Offset<grpc::Metadata>> metadata = {
      grpc::CreateMetadata(b, grpc::MetadataType::TEXT, bytesIn(b, "idempotency-key"),
                           bytesIn(b, "59410e57")),
      grpc::CreateMetadata(b, grpc::MetadataType::BASE64, bytesIn(b, "custom"),
                           bytesIn(b, "dGVzdA=="))};
  auto begin = grpc::CreateBeginEx(b, b.CreateString("http"), b.CreateString("localhost:8080"),
                                   b.CreateString("example.EchoService"),
                                   b.CreateString("EchoUnary"), b.CreateVector(metadata), 2500);
  auto root = grpc::CreateGrpcExtension(b, grpc::GrpcEx::BeginEx, begin.Union());
  const zb_frame_t frame = frameWith(writer.finishGrpc(root, kGrpcType));
  const auto* ext = zb::sdk::readGrpc(frame, kGrpcType);
  REQUIRE(ext != nullptr);
  const auto* ex = ext->ex_as_BeginEx();
  REQUIRE(ex != nullptr);
  CHECK(textOf(ex->scheme()) == "http");
  CHECK(textOf(ex->authority()) == "localhost:8080");
  CHECK(textOf(ex->service()) == "example.EchoService");
  CHECK(textOf(ex->method()) == "EchoUnary");
  CHECK(ex->deadline_ms() == 2500);
  CHECK(ex->metadata()->Get(1)->type() == grpc::MetadataType::BASE64);
  CHECK(bytesOf(ex->metadata()->Get(1)->value()) == "dGVzdA==");

  fb::FlatBufferBuilder& b2 = writer.start();
  auto status = grpc::CreateStatusEx(b2, 10, b2.CreateString("Custom Error Message"));
  auto root2 = grpc::CreateGrpcExtension(b2, grpc::GrpcEx::StatusEx, status.Union());
  const zb_frame_t frame2 = frameWith(writer.finishGrpc(root2, kGrpcType));
  const auto* ext2 = zb::sdk::readGrpc(frame2, kGrpcType);
  REQUIRE(ext2 != nullptr);
  CHECK(ext2->ex_as_StatusEx()->status() == 10);
  CHECK(textOf(ext2->ex_as_StatusEx()->message()) == "Custom Error Message");
}

TEST_CASE("corrupt, truncated, mistyped or foreign extension bytes are refused") {
  zb::sdk::ExtensionWriter writer;
  fb::FlatBufferBuilder& b = writer.start();
  auto data = grpc::CreateDataEx(b, 5);
  auto root = grpc::CreateGrpcExtension(b, grpc::GrpcEx::DataEx, data.Union());
  const zb::sdk::Extension good = writer.finishGrpc(root, kGrpcType);
  std::vector<uint8_t> bytes(good.data, good.data + good.length);

  SUBCASE("a wrong type id") {
    zb_frame_t frame = frameWith(good);
    frame.extension_type_id = kKafkaType;
    CHECK(zb::sdk::readGrpc(frame, kGrpcType) == nullptr);
  }
  SUBCASE("kafka bytes read as grpc: the identifier differs") {
    zb::sdk::ExtensionWriter kafka_writer;
    fb::FlatBufferBuilder& kb = kafka_writer.start();
    auto flush = kafka::CreateConsumerFlushEx(kb);
    auto kroot = kafka::CreateKafkaExtension(kb, kafka::KafkaEx::ConsumerFlushEx, flush.Union());
    zb::sdk::Extension ext = kafka_writer.finishKafka(kroot, kGrpcType);
    CHECK(zb::sdk::readGrpc(frameWith(ext), kGrpcType) == nullptr);
  }
  SUBCASE("truncated") {
    for (uint32_t length = 0; length < good.length; ++length) {
      zb::sdk::Extension cut{kGrpcType, bytes.data(), length};
      CHECK(zb::sdk::readGrpc(frameWith(cut), kGrpcType) == nullptr);
    }
  }
  SUBCASE("root offset pointing outside the buffer") {
    bytes[0] = 0xff;
    bytes[1] = 0xff;
    zb::sdk::Extension bad{kGrpcType, bytes.data(), static_cast<uint32_t>(bytes.size())};
    CHECK(zb::sdk::readGrpc(frameWith(bad), kGrpcType) == nullptr);
  }
  SUBCASE("every single-byte corruption is either refused or still verifies safely") {
    // Flipping bytes must never make the reader touch memory outside the buffer (ASan guards
    // this run); verified buffers may still decode to other values.
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::vector<uint8_t> corrupt = bytes;
      corrupt[i] ^= 0xa5;
      zb::sdk::Extension bad{kGrpcType, corrupt.data(), static_cast<uint32_t>(corrupt.size())};
      const auto* ext = zb::sdk::readGrpc(frameWith(bad), kGrpcType);
      if (ext != nullptr && ext->ex_as_DataEx() != nullptr) {
        (void)ext->ex_as_DataEx()->deferred();
      }
    }
  }
  SUBCASE("no extension at all") {
    zb_frame_t frame = zb::sdk::makeFrame(ZB_FRAME_DATA);
    CHECK(zb::sdk::readGrpc(frame, kGrpcType) == nullptr);
  }
}
