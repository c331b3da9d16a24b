// Steady-state exchanges make no heap allocation in the binding.
//
// This executable replaces the global operator new and counts the allocations made while a hook
// of the loaded libbinding-kafka-grpc.so is on the stack (the engine's work on its behalf
// included), but not while a hook of the in-process peers runs: every hook table is wrapped so
// that the thread knows whose code it is in. After a warm-up, 2000 unary exchanges (fetch
// record and tombstone, call BEGIN/DATA/END, reply BEGIN/DATA/END, reply record, status
// tombstone, commit) must then allocate nothing.
#include "scripted_peer.h"
#include "support/counting_new.h"

#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

namespace {

enum Owner { kOther = 0, kBinding = 1, kPeer = 2 };
thread_local int t_owner = kOther;
std::atomic<uint64_t> g_binding_allocations{0};
void* volatile g_escape = nullptr;  // an allocation that escapes here cannot be optimised away

}  // namespace

void zb::test::onAllocation() {
  if (t_owner == kBinding) {
    g_binding_allocations.fetch_add(1, std::memory_order_relaxed);
  }
}

namespace zb::kafka_grpc::spec {
namespace {

class OwnerScope {
 public:
  explicit OwnerScope(int owner) : saved_(t_owner) { t_owner = owner; }
  ~OwnerScope() { t_owner = saved_; }

 private:
  int saved_;
};

// A hook table whose every hook runs its original with t_owner set.
template <int Slot>
struct Wrapped {
  static inline const zb_binding_api_t* original = nullptr;
  static inline int owner = kOther;
  static inline zb_binding_api_t table;

  static zb_binding_t* bindingNew(zb_host_binding_t* h, const zb_binding_config_t* c, char* e,
                                  size_t n) {
    OwnerScope scope(owner);
    return original->on_binding_new(h, c, e, n);
  }
  static void bindingStart(zb_binding_t* b) {
    OwnerScope scope(owner);
    if (original->on_binding_start != nullptr) {
      original->on_binding_start(b);
    }
  }
  static void bindingStop(zb_binding_t* b) {
    OwnerScope scope(owner);
    if (original->on_binding_stop != nullptr) {
      original->on_binding_stop(b);
    }
  }
  static void bindingDestroy(zb_binding_t* b) {
    OwnerScope scope(owner);
    original->on_binding_destroy(b);
  }
  static zb_stream_t* streamNew(zb_binding_t* b, const zb_frame_t* f) {
    OwnerScope scope(owner);
    return original->on_stream_new(b, f);
  }
  static void frame(zb_binding_t* b, zb_stream_t* s, const zb_frame_t* f) {
    OwnerScope scope(owner);
    original->on_frame(b, s, f);
  }
  static void streamRelease(zb_binding_t* b, zb_stream_t* s) {
    OwnerScope scope(owner);
    original->on_stream_release(b, s);
  }
  static void signal(zb_binding_t* b, const zb_frame_t* f) {
    OwnerScope scope(owner);
    if (original->on_signal != nullptr) {
      original->on_signal(b, f);
    }
  }

  static const zb_binding_api_t* wrap(const zb_binding_api_t* api, int as) {
    original = api;
    owner = as;
    table = *api;
    table.on_binding_new = &bindingNew;
    table.on_binding_start = &bindingStart;
    table.on_binding_stop = &bindingStop;
    table.on_binding_destroy = &bindingDestroy;
    table.on_stream_new = &streamNew;
    table.on_frame = &frame;
    table.on_stream_release = &streamRelease;
    table.on_signal = &signal;
    return &table;
  }
};

class QuietLog : public runtime::LogSink {
 public:
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override {
    if (level >= ZB_LOG_WARN) {
      text += std::string(binding) + ": " + std::string(msg) + "\n";
    }
  }
  std::string text;
};

sdk::Extension fetchData(sdk::ExtensionWriter& writer, uint32_t kafka_type, int64_t offset,
                         const std::string& correlation_id) {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  std::vector<flatbuffers::Offset<zb::kafka::Header>> headers;
  const auto header = [&](const char* name, const std::string& value) {
    headers.push_back(
        zb::kafka::CreateHeader(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value)));
  };
  header("zilla:service", "example.EchoService");
  header("zilla:method", "EchoUnary");
  header("zilla:reply-to", "responses");
  header("zilla:correlation-id", correlation_id);
  header("meta:idempotency-key", correlation_id);
  const zb::kafka::Offset partition(0, offset);
  const auto data = zb::kafka::CreateFetchDataEx(
      fbb, 0, 0, &partition, sdk::bytesIn(fbb, correlation_id), fbb.CreateVector(headers));
  return writer.finishKafka(
      zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::FetchDataEx, data.Union()),
      kafka_type);
}

sdk::Extension replyBegin(sdk::ExtensionWriter& writer, uint32_t grpc_type) {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  std::vector<flatbuffers::Offset<zb::grpc::Metadata>> metadata;
  metadata.push_back(zb::grpc::CreateMetadata(
      fbb, zb::grpc::MetadataType::TEXT, sdk::bytesIn(fbb, "custom"), sdk::bytesIn(fbb, "value")));
  const auto begin = zb::grpc::CreateBeginEx(fbb, 0, 0, 0, 0, fbb.CreateVector(metadata));
  return writer.finishGrpc(
      zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::BeginEx, begin.Union()), grpc_type);
}

PeerStream* accept(Peer& peer) {
  REQUIRE(!peer.unaccepted.empty());
  PeerStream* stream = peer.unaccepted.front();
  peer.unaccepted.pop_front();
  return stream;
}

// Reads every queued frame, returning DATA credit as it goes.
void drain(PeerStream& stream) {
  while (!stream.queue.empty()) {
    const int32_t reserved =
        stream.queue.front().type == ZB_FRAME_DATA ? stream.queue.front().reserved : 0;
    stream.queue.pop_front();
    if (reserved > 0) {
      stream.acknowledge(reserved);
    }
  }
}

TEST_CASE("the replaced operator new counts what is allocated as the binding, and only that") {
  g_binding_allocations = 0;
  auto other = std::make_unique<int>(1);
  g_escape = other.get();
  CHECK(g_binding_allocations == 0);
  {
    OwnerScope scope(kBinding);
    auto mine = std::make_unique<int>(2);
    g_escape = mine.get();
    auto array = std::make_unique<char[]>(64);
    g_escape = array.get();
  }
  CHECK(g_binding_allocations == 2);
}

TEST_CASE("steady-state unary exchanges allocate nothing in the binding") {
  QuietLog log;
  Peer kafka("kafka");
  Peer grpc("grpc");
  Peer::install({&kafka, &grpc});
  {
    runtime::Engine engine(log);
    std::string error;
    std::shared_ptr<runtime::Plugin> plugin =
        runtime::Plugin::load(std::string(ZB_BINDINGS_DIR) + "/libbinding-kafka-grpc.so",
                              runtime::Engine::hostApi(), error);
    REQUIRE_MESSAGE(plugin, error);
    REQUIRE(engine.addType(Wrapped<0>::wrap(plugin->api(), kBinding), error));
    REQUIRE(engine.addType(Wrapped<1>::wrap(Peer::api("kafka"), kPeer), error));
    REQUIRE(engine.addType(Wrapped<2>::wrap(Peer::api("grpc"), kPeer), error));

    runtime::BindingDeclaration declaration;
    declaration.namespace_name = "test";
    declaration.name = "kafka0";
    declaration.type = "kafka";
    declaration.kind = "cache_client";
    REQUIRE(engine.declare(declaration, error) != 0);
    declaration.name = "grpc0";
    declaration.type = "grpc";
    declaration.kind = "client";
    REQUIRE(engine.declare(declaration, error) != 0);
    declaration.name = "remote_server0";
    declaration.type = "kafka-grpc";
    declaration.kind = "remote_server";
    declaration.entry = "kafka0";
    // The default acks (in_sync_replicas): the status tombstone goes with the reply record.
    declaration.options_json = R"({"acks":"in_sync_replicas"})";
    declaration.routes_json =
        R"([{"exit":"grpc0","when":[{"topic":"requests","reply-to":"responses"}],)"
        R"("with":{"scheme":"http","authority":"localhost:8080"}}])";
    REQUIRE(engine.declare(declaration, error) != 0);
    REQUIRE_MESSAGE(engine.create(error), error);
    engine.start();

    PeerStream* fetch = accept(kafka);
    drain(*fetch);
    REQUIRE(fetch->sendBegin() == ZB_OK);
    REQUIRE(fetch->credit() > 0);

    sdk::ExtensionWriter writer;
    const std::string request = "\x0a\x0bHello World";
    const std::string reply = "\x0a\x0bHello Again";
    std::string correlation_id;
    int64_t offset = 0;
    const auto exchange = [&](int i) {
      // Fixed width, like the UUID-based ids grpc-kafka makes: a longer id than any before
      // may grow a buffer once, which is not a per-record cost.
      char id[48];
      std::snprintf(id, sizeof id, "59410e57-3e0f-4b61-9328-%012d", i);
      correlation_id = id;
      REQUIRE(fetch->sendData(ZB_DATA_COMPLETE, &request,
                              fetchData(writer, kafka.typeIds().kafka, ++offset, correlation_id)) ==
              ZB_OK);
      REQUIRE(fetch->sendData(ZB_DATA_COMPLETE, nullptr,
                              fetchData(writer, kafka.typeIds().kafka, ++offset, correlation_id)) ==
              ZB_OK);
      PeerStream* call = accept(grpc);
      REQUIRE(call->sendWindow(8192, 0) == ZB_OK);
      REQUIRE(call->queue.size() == 3);  // BEGIN, DATA, END
      drain(*call);
      REQUIRE(call->sendBegin(replyBegin(writer, grpc.typeIds().grpc)) == ZB_OK);
      PeerStream* produce = accept(kafka);
      REQUIRE(produce->sendWindow(8192, 1) == ZB_OK);
      REQUIRE(produce->sendBegin() == ZB_OK);
      {
        flatbuffers::FlatBufferBuilder& fbb = writer.start();
        const auto data = zb::grpc::CreateDataEx(fbb, 0);
        const sdk::Extension ext = writer.finishGrpc(
            zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::DataEx, data.Union()),
            grpc.typeIds().grpc);
        REQUIRE(call->sendData(ZB_DATA_COMPLETE, &reply, ext) == ZB_OK);
      }
      REQUIRE(call->sendEnd() == ZB_OK);
      REQUIRE(produce->queue.size() == 3);  // BEGIN, reply record, status tombstone
      drain(*produce);  // acknowledged: durable, then END (read here too) and the commit
      REQUIRE(produce->sendEnd() == ZB_OK);
      REQUIRE(fetch->queue.size() == 1);  // the commit
      CHECK(fetch->queue.front().ext.kind == "ConsumerFlushEx");
      drain(*fetch);
      CHECK(call->released);
      CHECK(produce->released);
    };

    for (int i = 0; i < 200; ++i) {
      exchange(i);
    }
    g_binding_allocations = 0;
    for (int i = 200; i < 2200; ++i) {
      exchange(i);
    }
    const uint64_t allocations = g_binding_allocations;
    MESSAGE("allocations in the binding over 2000 steady-state exchanges: " << allocations);
    CHECK(allocations == 0);
    CHECK(log.text.empty());
    engine.shutdown();
  }
  Peer::install({});
}

}  // namespace
}  // namespace zb::kafka_grpc::spec
