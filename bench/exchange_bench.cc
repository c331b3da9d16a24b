// exchange-bench: what one unary exchange costs in the kafka-grpc binding.
//
// The real libbinding-kafka-grpc.so is loaded into the real engine, between two lean in-process
// peers (bench/lean_peer.h) that play the `kafka` and `grpc` bindings. One exchange is: fetch
// record and its tombstone -> call BEGIN/DATA/END -> reply BEGIN/DATA/END -> reply record and
// status tombstone produced -> their acknowledgement -> commit (FLUSH on the fetch stream).
//
// Every hook table is wrapped (bench/hook_owner.h), so the thread always knows whose code runs:
// heap allocations and, in the attributed benchmark, TSC ticks are charged to the binding while
// one of its hooks is on the stack (the engine's routing of the frames it sends included) and to
// the driver or a peer otherwise. Benchmarks:
//   exchange/total       CPU time of a whole exchange (binding, engine, peers, driver)
//   exchange/attributed  the same, with the ticks split by owner: binding ns per exchange
//   floor/frames         the same number of frames and streams bounced between two trivial
//                        bindings through the same engine: the ABI/engine floor
// Then a summary: binding ns per exchange, the floor, their ratio, and the binding's allocations
// per exchange in steady state. Exit status 1 when the binding allocated in steady state or an
// exchange went wrong.
//
//   exchange-bench [benchmark flags] [--plugin PATH] [--warmup N]
#include "frame_floor.h"
#include "hook_owner.h"
#include "lean_peer.h"
#include "support/counting_new.h"

#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// ---- Allocations, charged to the owner of the moment.

void zb::test::onAllocation() { ++zb::bench::t_ledger.allocations[zb::bench::t_ledger.owner]; }

namespace zb::bench {
namespace {

constexpr std::string_view kService = "grpc.examples.echo.Echo";
constexpr std::string_view kMethod = "UnaryEcho";
constexpr std::string_view kReplyTo = "responses";
// EchoRequest{message: "Hello World"} and EchoResponse{message: "Hello Again"}.
constexpr std::string_view kRequest = "\x0a\x0bHello World";
constexpr std::string_view kReply = "\x0a\x0bHello Again";

const uint8_t* bytes(std::string_view text) {
  return reinterpret_cast<const uint8_t*>(text.data());
}

class CollectedLog : public runtime::LogSink {
 public:
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override {
    if (level >= ZB_LOG_WARN && text.size() < 4096) {
      text.append(binding).append(": ").append(msg).append("\n");
    }
  }
  std::string text;
};

// The binding under test between the two lean peers, driven one exchange at a time.
class UnaryExchange {
 public:
  UnaryExchange() : engine_(log_) {}
  ~UnaryExchange() {
    engine_.shutdown();
    LeanPeer::detachAll();
  }

  bool start(const std::string& plugin_path, std::string& error) {
    plugin_ = runtime::Plugin::load(plugin_path, runtime::Engine::hostApi(), error);
    if (!plugin_) {
      return false;
    }
    LeanPeer::attach(&kafka_);
    LeanPeer::attach(&grpc_);
    if (!engine_.addType(OwnedHooks<0>::wrap(plugin_->api(), kBinding), error) ||
        !engine_.addType(OwnedHooks<1>::wrap(LeanPeer::api("kafka"), kPeer), error) ||
        !engine_.addType(OwnedHooks<2>::wrap(LeanPeer::api("grpc"), kPeer), error)) {
      return false;
    }
    runtime::BindingDeclaration declaration;
    declaration.namespace_name = "bench";
    declaration.name = "kafka_client0";
    declaration.type = "kafka";
    declaration.kind = "client";
    if (engine_.declare(declaration, error) == 0) {
      return false;
    }
    declaration.name = "grpc_client0";
    declaration.type = "grpc";
    if (engine_.declare(declaration, error) == 0) {
      return false;
    }
    declaration.name = "kafka_grpc0";
    declaration.type = "kafka-grpc";
    declaration.kind = "remote_server";
    declaration.entry = "kafka_client0";
    // The default acks (in_sync_replicas, an idempotent producer): the status tombstone goes with
    // the reply record (with leader_only it waits for the record's acknowledgement).
    declaration.options_json = R"({"acks":"in_sync_replicas"})";
    declaration.routes_json =
        R"([{"exit":"grpc_client0","when":[{"topic":"requests","reply-to":"responses"}],)"
        R"("with":{"scheme":"http","authority":"localhost:8080"}}])";
    if (engine_.declare(declaration, error) == 0 || !engine_.create(error)) {
      return false;
    }
    engine_.start();

    fetch_ = kafka_.accept();
    if (fetch_ == nullptr) {
      error = "the binding opened no fetch stream";
      return false;
    }
    fetch_->clear();
    if (fetch_->sendBegin() != ZB_OK || fetch_->credit() <= 0) {
      error = "the fetch stream got no credit";
      return false;
    }

    // The grpc peer's reply BEGIN and DATA extensions are the same every time: built once.
    {
      flatbuffers::FlatBufferBuilder& fbb = reply_begin_writer_.start();
      std::vector<flatbuffers::Offset<zb::grpc::Metadata>> metadata;
      const auto begin = zb::grpc::CreateBeginEx(fbb, 0, 0, 0, 0, fbb.CreateVector(metadata));
      reply_begin_ = reply_begin_writer_.finishGrpc(
          zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::BeginEx, begin.Union()),
          grpc_.grpcTypeId());
    }
    {
      flatbuffers::FlatBufferBuilder& fbb = reply_data_writer_.start();
      const auto data = zb::grpc::CreateDataEx(fbb, 0);
      reply_data_ = reply_data_writer_.finishGrpc(
          zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::DataEx, data.Union()),
          grpc_.grpcTypeId());
    }
    return true;
  }

  // One exchange, numbered `n` (its correlation id). False with failure() on any deviation.
  bool run(uint64_t n) {
    // Fixed width, like the UUIDs grpc-kafka makes.
    std::snprintf(id_, sizeof id_, "59410e57-3e0f-4b61-9328-%012llu",
                  static_cast<unsigned long long>(n % 1000000000000ull));
    if (fetch_->sendData(ZB_DATA_COMPLETE, bytes(kRequest), kRequest.size(),
                         fetchData(++offset_)) != ZB_OK ||
        fetch_->sendData(ZB_DATA_COMPLETE, nullptr, 0, fetchData(++offset_)) != ZB_OK) {
      return fail("the fetch stream refused a record (credit " + std::to_string(fetch_->credit()) +
                  ")");
    }
    LeanStream* call = grpc_.accept();
    if (call == nullptr) {
      return fail("no call opened for the request");
    }
    if (call->sendWindow(8192, 0) != ZB_OK) {
      return fail("call WINDOW refused");
    }
    if (call->seenCount() != 3 || call->seen(0).type != ZB_FRAME_BEGIN ||
        call->seen(1).type != ZB_FRAME_DATA || call->seen(2).type != ZB_FRAME_END) {
      return fail("the call is not BEGIN, DATA, END (" + std::to_string(call->seenCount()) +
                  " frames)");
    }
    call->drain();
    if (call->sendBegin(reply_begin_) != ZB_OK) {
      return fail("reply BEGIN refused");
    }
    LeanStream* produce = kafka_.accept();
    if (produce == nullptr) {
      return fail("no produce stream opened for the reply");
    }
    produce->clear();  // its BEGIN
    if (produce->sendWindow(8192, 1) != ZB_OK || produce->sendBegin() != ZB_OK) {
      return fail("produce WINDOW or BEGIN refused");
    }
    if (call->sendData(ZB_DATA_COMPLETE, bytes(kReply), kReply.size(), reply_data_) != ZB_OK ||
        call->sendEnd() != ZB_OK) {
      return fail("reply DATA or END refused (credit " + std::to_string(call->credit()) + ")");
    }
    if (produce->seenCount() != 2 || produce->seen(0).type != ZB_FRAME_DATA ||
        produce->seen(0).null_payload || produce->seen(1).type != ZB_FRAME_DATA ||
        !produce->seen(1).null_payload) {
      return fail("the reply is not a record and a status tombstone (" +
                  std::to_string(produce->seenCount()) + " frames)");
    }
    produce->drain();  // Kafka acknowledged both: the binding ENDs and commits
    if (produce->seenCount() != 1 || produce->seen(0).type != ZB_FRAME_END) {
      return fail("the produce stream did not END once acknowledged");
    }
    produce->clear();
    if (produce->sendEnd() != ZB_OK) {
      return fail("produce reply END refused");
    }
    if (fetch_->seenCount() != 1 || fetch_->seen(0).type != ZB_FRAME_FLUSH) {
      return fail("no commit after the reply was durable (" + std::to_string(fetch_->seenCount()) +
                  " fetch frames)");
    }
    fetch_->clear();
    if (!call->released() || !produce->released()) {
      return fail("the call or produce stream was not released");
    }
    return true;
  }

  // Checks the extensions of every frame of the next exchanges (outside timed loops).
  void checkContents(bool on) {
    kafka_.inspect(on ? &UnaryExchange::inspect : nullptr, this);
    grpc_.inspect(on ? &UnaryExchange::inspect : nullptr, this);
  }
  int checksPassed() const { return checks_passed_; }
  const std::string& checkErrors() const { return check_errors_; }

  const std::string& failure() const { return failure_; }
  const std::string& log() const { return log_.text; }

 private:
  bool fail(std::string why) {
    failure_ = std::move(why) + " at exchange with correlation id " + id_;
    return false;
  }

  sdk::Extension fetchData(int64_t offset) {
    flatbuffers::FlatBufferBuilder& fbb = fetch_writer_.start();
    const std::string_view id(id_);
    const flatbuffers::Offset<zb::kafka::Header> headers[] = {
        header(fbb, "zilla:service", kService), header(fbb, "zilla:method", kMethod),
        header(fbb, "zilla:reply-to", kReplyTo), header(fbb, "zilla:correlation-id", id)};
    const zb::kafka::Offset partition(0, offset);
    const auto data = zb::kafka::CreateFetchDataEx(fbb, 0, 0, &partition, sdk::bytesIn(fbb, id),
                                                   fbb.CreateVector(headers, 4));
    return fetch_writer_.finishKafka(
        zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::FetchDataEx, data.Union()),
        kafka_.kafkaTypeId());
  }

  static flatbuffers::Offset<zb::kafka::Header> header(flatbuffers::FlatBufferBuilder& fbb,
                                                       std::string_view name,
                                                       std::string_view value) {
    return zb::kafka::CreateHeader(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value));
  }

  static std::string_view headerValue(const zb::kafka::ProduceDataEx& data, std::string_view name) {
    if (data.headers() == nullptr) {
      return {};
    }
    for (const zb::kafka::Header* h : *data.headers()) {
      if (sdk::bytesOf(h->name()) == name) {
        return sdk::bytesOf(h->value());
      }
    }
    return {};
  }

  static void inspect(void* context, LeanStream& stream, const zb_frame_t& frame) {
    static_cast<UnaryExchange*>(context)->inspectFrame(stream, frame);
  }

  void check(bool ok, const char* what) {
    if (ok) {
      ++checks_passed_;
    } else {
      check_errors_ += std::string(what) + " (correlation id " + id_ + ")\n";
    }
  }

  // What the binding sends, field by field where it matters for a unary exchange.
  void inspectFrame(LeanStream& stream, const zb_frame_t& frame) {
    const bool initial = ZB_STREAM_IS_INITIAL(frame.stream_id);
    const std::string_view id(id_);
    if (&stream.peer() == &grpc_ && initial && frame.type == ZB_FRAME_BEGIN) {
      const auto* ext = sdk::readGrpc(frame, grpc_.grpcTypeId());
      const auto* begin = ext != nullptr ? ext->ex_as_BeginEx() : nullptr;
      check(begin != nullptr && sdk::textOf(begin->service()) == kService &&
                sdk::textOf(begin->method()) == kMethod &&
                sdk::textOf(begin->authority()) == "localhost:8080",
            "call BEGIN: service, method and authority");
    } else if (&stream.peer() == &grpc_ && initial && frame.type == ZB_FRAME_DATA) {
      check(
          frame.payload != nullptr && std::string_view(reinterpret_cast<const char*>(frame.payload),
                                                       frame.payload_length) == kRequest,
          "call DATA: the request message");
    } else if (&stream.peer() == &kafka_ && initial && frame.type == ZB_FRAME_BEGIN) {
      const auto* ext = sdk::readKafka(frame, kafka_.kafkaTypeId());
      const auto* begin = ext != nullptr ? ext->ex_as_MergedBeginEx() : nullptr;
      check(begin != nullptr && begin->capabilities() == zb::kafka::Capabilities::PRODUCE_ONLY &&
                sdk::textOf(begin->topic()) == kReplyTo &&
                begin->ack_mode() == zb::kafka::AckMode::IN_SYNC_REPLICAS,
            "produce BEGIN: reply-to topic, in_sync_replicas");
    } else if (&stream.peer() == &kafka_ && initial && frame.type == ZB_FRAME_DATA) {
      const auto* ext = sdk::readKafka(frame, kafka_.kafkaTypeId());
      const auto* data = ext != nullptr ? ext->ex_as_ProduceDataEx() : nullptr;
      if (frame.payload != nullptr) {
        check(data != nullptr && sdk::bytesOf(data->key()) == id &&
                  headerValue(*data, "zilla:correlation-id") == id &&
                  std::string_view(reinterpret_cast<const char*>(frame.payload),
                                   frame.payload_length) == kReply,
              "reply record: key, correlation id, response message");
      } else {
        check(data != nullptr && sdk::bytesOf(data->key()) == id &&
                  headerValue(*data, "zilla:status") == "0",
              "status tombstone: key and zilla:status 0");
      }
    } else if (&stream == fetch_ && frame.type == ZB_FRAME_FLUSH) {
      const auto* ext = sdk::readKafka(frame, kafka_.kafkaTypeId());
      const auto* flush = ext != nullptr ? ext->ex_as_ConsumerFlushEx() : nullptr;
      check(flush != nullptr && flush->progress() != nullptr &&
                flush->progress()->partition_id() == 0 &&
                flush->progress()->partition_offset() == offset_ + 1,
            "commit: the offset after the request's tombstone");
    }
  }

  CollectedLog log_;
  runtime::Engine engine_;
  std::shared_ptr<runtime::Plugin> plugin_;
  LeanPeer kafka_{"kafka"};
  LeanPeer grpc_{"grpc"};
  LeanStream* fetch_ = nullptr;
  sdk::ExtensionWriter fetch_writer_;
  sdk::ExtensionWriter reply_begin_writer_;
  sdk::ExtensionWriter reply_data_writer_;
  sdk::Extension reply_begin_;
  sdk::Extension reply_data_;
  int64_t offset_ = 0;
  char id_[48] = {0};
  std::string failure_;
  int checks_passed_ = 0;
  std::string check_errors_;
};

// What the benchmarks found, for the summary: one entry per reported run (per repetition with
// --benchmark_repetitions); the summary takes medians.
struct Figures {
  std::vector<double> total_ns;    // exchange/total: CPU ns per exchange
  std::vector<double> tracked_ns;  // exchange/attributed: CPU ns per exchange, clock reads included
  std::vector<double> binding_raw_ns;  // ticks charged to the binding, ns per exchange
  std::vector<double> others_raw_ns;   // ticks charged to the driver and the peers
  std::vector<double> binding_intervals;
  std::vector<double> others_intervals;
  std::vector<double> floor_ns;
  uint64_t steady_exchanges = 0;
  uint64_t steady_allocations = 0;
  std::string failure;
};

double median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 != 0 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

struct Clock {
  double ns_per_tick = 0;
  double probe_ns = 0;  // an empty timed interval: the most a clock read can add to one
};

// Ticks against the steady clock over a 20 ms busy wait, and the cost of an empty interval.
Clock calibrate() {
  Clock clock;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = readTicks();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(20)) {
  }
  const auto t1 = std::chrono::steady_clock::now();
  const uint64_t c1 = readTicks();
  clock.ns_per_tick =
      std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(c1 - c0);

  constexpr int kProbes = 200000;
  t_ledger.reset();
  t_ledger.timing = true;
  for (int i = 0; i < kProbes; ++i) {
    OwnerScope scope(kBinding);
    benchmark::ClobberMemory();
  }
  t_ledger.timing = false;
  clock.probe_ns = static_cast<double>(t_ledger.ticks[kBinding]) * clock.ns_per_tick / kProbes;
  return clock;
}

// Console tables as usual; keeps each benchmark's CPU time per iteration for the summary (CPU
// time, not wall time: the thread losing its core to other processes is not the binding's cost).
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(Figures& figures)
      : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular),
        figures_(figures) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    // Each repetition's run; with --benchmark_report_aggregates_only, their median instead.
    bool iterations = false;
    for (const Run& run : runs) {
      iterations = iterations || run.run_type == Run::RT_Iteration;
    }
    for (const Run& run : runs) {
      const bool wanted = iterations
                              ? run.run_type == Run::RT_Iteration
                              : run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (!wanted || run.error_occurred) {
        continue;
      }
      const double ns =
          run.GetAdjustedCPUTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      const std::string name = run.benchmark_name();
      const auto counter = [&](const char* key) {
        const auto it = run.counters.find(key);
        return it != run.counters.end() ? it->second.value : 0.0;
      };
      if (name.rfind("exchange/total", 0) == 0) {
        figures_.total_ns.push_back(ns);
      } else if (name.rfind("exchange/attributed", 0) == 0) {
        figures_.tracked_ns.push_back(ns);
        figures_.binding_raw_ns.push_back(counter("binding_raw_ns"));
        figures_.others_raw_ns.push_back(counter("others_raw_ns"));
        figures_.binding_intervals.push_back(counter("binding_intervals"));
        figures_.others_intervals.push_back(counter("others_intervals"));
      } else if (name.rfind("floor/frames", 0) == 0) {
        figures_.floor_ns.push_back(ns);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

 private:
  Figures& figures_;
};

struct Options {
  std::string plugin = std::string(ZB_BINDINGS_DIR) + "/libbinding-kafka-grpc.so";
  int warmup = 500;
};

bool parseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--plugin" && i + 1 < argc) {
      options.plugin = argv[++i];
    } else if (arg == "--warmup" && i + 1 < argc) {
      options.warmup = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: exchange-bench [--benchmark_* flags] [--plugin PATH] [--warmup N]\n"
                   "unknown argument: %s\n",
                   arg.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace zb::bench

int main(int argc, char** argv) {
  using namespace zb::bench;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the summary after the tables, also in a pipe
  benchmark::Initialize(&argc, argv);
  Options options;
  if (!parseOptions(argc, argv, options)) {
    return 2;
  }

  UnaryExchange exchange;
  std::string error;
  if (!exchange.start(options.plugin, error)) {
    std::fprintf(stderr, "exchange-bench: %s\n", error.c_str());
    return 2;
  }
  uint64_t n = 0;
  const auto runMany = [&](int count) {
    for (int i = 0; i < count; ++i) {
      if (!exchange.run(++n)) {
        std::printf("FAIL: %s\n%s", exchange.failure().c_str(), exchange.log().c_str());
        return false;
      }
    }
    return true;
  };

  // The exchange is what it claims to be: the contents of its frames are checked first.
  constexpr int kChecked = 3;
  constexpr int kChecksPerExchange = 6;
  exchange.checkContents(true);
  if (!runMany(kChecked)) {
    return 1;
  }
  exchange.checkContents(false);
  if (!exchange.checkErrors().empty() || exchange.checksPassed() != kChecked * kChecksPerExchange) {
    std::printf("FAIL: the exchange's frames are not as expected (%d checks passed):\n%s",
                exchange.checksPassed(), exchange.checkErrors().c_str());
    return 1;
  }
  if (!runMany(options.warmup)) {
    return 1;
  }

  // Frames and streams per exchange, counted at every wrapped hook: the floor's workload.
  constexpr int kCounted = 100;
  t_ledger.reset();
  if (!runMany(kCounted)) {
    return 1;
  }
  const int frames = static_cast<int>((t_ledger.frames + kCounted / 2) / kCounted);
  const int streams = static_cast<int>((t_ledger.streams + kCounted / 2) / kCounted);

  const Clock clock = calibrate();
  FrameFloor floor;
  if (!floor.start(error)) {
    std::fprintf(stderr, "exchange-bench: floor: %s\n", error.c_str());
    return 2;
  }

  Figures figures;
  // Runs exchanges for the benchmark loop; false when one failed.
  const auto loop = [&](benchmark::State& state, uint64_t& done) {
    for (auto _ : state) {
      if (!exchange.run(++n)) {
        figures.failure = exchange.failure();
        state.SkipWithError(figures.failure.c_str());
        break;
      }
      ++done;
    }
    figures.steady_exchanges += done;
    figures.steady_allocations += t_ledger.allocations[kBinding];
  };
  benchmark::RegisterBenchmark("exchange/total", [&](benchmark::State& state) {
    t_ledger.reset();
    uint64_t done = 0;
    loop(state, done);
    state.counters["binding_allocs"] = benchmark::Counter(
        static_cast<double>(t_ledger.allocations[kBinding]), benchmark::Counter::kAvgIterations);
    state.counters["frames"] = frames;
  });
  benchmark::RegisterBenchmark("exchange/attributed", [&](benchmark::State& state) {
    t_ledger.reset();
    t_ledger.timing = true;
    uint64_t done = 0;
    loop(state, done);
    switchOwner(t_ledger.owner);  // close the driver's last interval
    t_ledger.timing = false;
    if (done == 0) {
      return;
    }
    const double exchanges = static_cast<double>(done);
    const auto ns = [&](int owner) {
      return static_cast<double>(t_ledger.ticks[owner]) * clock.ns_per_tick / exchanges;
    };
    state.counters["binding_raw_ns"] = ns(kBinding);
    state.counters["others_raw_ns"] = ns(kDriver) + ns(kPeer);
    state.counters["binding_intervals"] =
        static_cast<double>(t_ledger.intervals[kBinding]) / exchanges;
    state.counters["others_intervals"] =
        static_cast<double>(t_ledger.intervals[kDriver] + t_ledger.intervals[kPeer]) / exchanges;
    state.counters["preempted"] = static_cast<double>(t_ledger.preempted);
  });
  benchmark::RegisterBenchmark("floor/frames", [&](benchmark::State& state) {
    for (auto _ : state) {
      if (!floor.round(streams, frames)) {
        figures.failure = "the engine refused a floor frame";
        state.SkipWithError(figures.failure.c_str());
        break;
      }
    }
    state.counters["frames"] = frames;
    state.counters["streams"] = streams;
  });

  SummaryReporter reporter(figures);
  benchmark::RunSpecifiedBenchmarks(&reporter);

  // The clock reads inflate every timed interval a little: the difference between the timed and
  // the untimed CPU time, spread over the intervals, never more than an empty interval costs.
  const double total_ns = median(figures.total_ns);
  const double tracked_ns = median(figures.tracked_ns);
  const double floor_ns = median(figures.floor_ns);
  const double binding_raw_ns = median(figures.binding_raw_ns);
  const double others_raw_ns = median(figures.others_raw_ns);
  const double binding_intervals = median(figures.binding_intervals);
  const double others_intervals = median(figures.others_intervals);
  double per_interval = 0;
  if (tracked_ns > 0 && total_ns > 0 && binding_intervals + others_intervals > 0) {
    per_interval = std::clamp((tracked_ns - total_ns) / (binding_intervals + others_intervals), 0.0,
                              clock.probe_ns);
  }
  const double binding_ns = std::max(0.0, binding_raw_ns - binding_intervals * per_interval);
  const double others_ns = std::max(0.0, others_raw_ns - others_intervals * per_interval);

  std::printf("\nexchange-bench: one unary exchange through %s\n", options.plugin.c_str());
  std::printf("  frames per exchange                      %d (%d streams opened and closed)\n",
              frames, streams);
  std::printf(
      "  total ns per exchange                    %.0f (binding + engine + lean peers + driver)\n",
      total_ns);
  if (tracked_ns > 0) {
    std::printf(
        "  binding ns per exchange                  %.0f (raw %.0f, less %.1f ns of clock reads x "
        "%.0f intervals)\n",
        binding_ns, binding_raw_ns, per_interval, binding_intervals);
    std::printf("  peers + driver ns per exchange           %.0f\n", others_ns);
  }
  if (floor_ns > 0) {
    std::printf("  ABI/engine floor ns for those frames     %.0f (%.1f ns per frame)\n", floor_ns,
                floor_ns / frames);
  }
  if (floor_ns > 0 && tracked_ns > 0) {
    std::printf("  ratio binding / floor                    %.2f\n", binding_ns / floor_ns);
    std::printf("  target binding <= 1000 ns per exchange   %s\n",
                binding_ns <= 1000 ? "met" : "NOT met");
  }
  std::printf(
      "  allocations per exchange in the binding  %g (%llu over %llu steady-state exchanges)\n",
      figures.steady_exchanges > 0 ? static_cast<double>(figures.steady_allocations) /
                                         static_cast<double>(figures.steady_exchanges)
                                   : 0.0,
      static_cast<unsigned long long>(figures.steady_allocations),
      static_cast<unsigned long long>(figures.steady_exchanges));
  if (!figures.failure.empty()) {
    std::printf("FAIL: %s\n%s", figures.failure.c_str(), exchange.log().c_str());
    return 1;
  }
  if (figures.steady_allocations != 0) {
    std::printf("FAIL: the binding allocated in steady state\n");
    return 1;
  }
  if (!exchange.log().empty()) {
    std::printf("warnings logged by the binding:\n%s", exchange.log().c_str());
  }
  return 0;
}
