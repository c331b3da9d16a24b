// e2e-bench: end-to-end throughput and CPU per request of zilla-host against real Apache Kafka,
// with a hand-written direct pipeline (direct-pipeline) measured in the same run as baseline.
//
// Per round and per pipeline, on fresh topics (requests with --partitions partitions, replies
// likewise): N unary requests are written in Zilla's record format (a record with the zilla:*
// headers and an EchoRequest value, then a tombstone), then the pipeline process is started and
// the reply topic is read until every request has its status tombstone; then the process gets
// SIGTERM and is reaped with wait4 for its rusage.
//   direct  direct-pipeline: librdkafka consumer -> gRPC C++ async generic unary calls (64 in
//           flight) -> librdkafka producer, commit after the reply is acknowledged
//   bridge  zilla-host with kafka -> kafka-grpc (max-in-flight 64) -> grpc, on a fresh group
//   bridge2 (with --scale-out) two zilla-host processes with that config, in one group: CPU and
//           context switches are their sums, RSS their largest; answers given more than once
//           are counted (a rebalance while calls are in flight may repeat them: at-least-once)
// Figures, from the reply records' timestamps (set by the producing process): time from start to
// the first reply and to the last status tombstone, the window between them, requests/s over the
// window; CPU seconds of the process per 1000 requests (rusage from wait4: its whole life), the
// same over the reply window only (/proc/<pid>/stat sampled at every read of the reply topic,
// 10 ms ticks, interpolated at the window's ends); max RSS; the echo service's CPU. Then the
// ratios bridge/direct against the targets.
//
//   e2e-bench [--bootstrap HOST:PORT] [--requests N | --smoke] [--rounds R] [--warmup N]
//             [--in-flight N] [--partitions N] [--linger-ms N|default] [--only direct|bridge]
//             [--acks leader_only|in_sync_replicas]
//             [--keep-broker] [--scale-out] [--rate R]
// --rate R: instead of writing the requests ahead, write them at R per second while the pipeline
// runs (after one request whose answer shows it is consuming) and report the latency of each
// (written -> its status tombstone produced, by that record's timestamp: p50, p99, p99.9, max) and
// the RSS when a tenth, half and all were answered: the latency and soak measurements.
//             [--build-dir DIR] [--source-dir DIR]
// Without --bootstrap it starts a single-node broker with scripts/kafka/broker.sh on a free port
// (data in <build>/bench/e2e/kafka-broker) and stops it at the end; with --keep-broker it leaves
// it running, and a later run reuses it.
#include "kafka_records.h"
#include "measured_child.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace zb::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string bootstrap;
  uint64_t requests = 20000;
  uint64_t warmup = 2000;
  int in_flight = 64;
  int partitions = 8;
  int rounds = 1;
  // Both producers' linger.ms. librdkafka's default (5 ms) bounds a 64-in-flight pipeline that
  // commits after the reply is acknowledged at about 64 / 6 ms: latency, not work, would be
  // measured. "default": leave librdkafka's.
  std::string linger_ms = "0";
  // The replies' acks, in both pipelines: "leader_only" (acks 1) or "in_sync_replicas" (all,
  // idempotent).
  std::string acks = "leader_only";
  std::string only;
  bool scale_out = false;  // also run "bridge2": two zilla-host processes in one group
  // Requests per second written while the pipeline runs (latency and memory over time); 0:
  // written ahead of the run (throughput).
  double rate = 0;
  bool keep_broker = false;
  std::string build_dir = ZB_BINARY_DIR;
  std::string source_dir = ZB_SOURCE_DIR;
};

struct RunFigures {
  std::string pipeline;
  int round = 0;
  bool ok = false;
  std::string failure;
  double wall_s = 0;         // start of the process -> last status tombstone
  double first_reply_s = 0;  // start of the process -> first reply
  double window_s = 0;       // record timestamps: first reply -> last status tombstone
  double requests_per_s = 0;
  double cpu_s = 0;         // rusage of the whole process life
  double window_cpu_s = 0;  // /proc, between the first reply and the last status
  long max_rss_kb = 0;
  long context_switches = 0;  // rusage, the whole process life
  // Paced runs (--rate): request written -> its status tombstone produced, in ms; and the RSS of
  // the process(es) when a tenth, half and all of the requests were answered.
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  long rss_tenth_kb = 0;
  long rss_half_kb = 0;
  long rss_end_kb = 0;
  double echo_cpu_s = 0;  // the echo service's CPU during the run
  uint64_t answered = 0;
  uint64_t data_records = 0;
  uint64_t status_records = 0;
  uint64_t repeated = 0;  // status tombstones beyond the first of their correlation id
  uint64_t error_statuses = 0;
  int exit_status = -1;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int64_t epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// CPU seconds at `ms`, interpolated between the samples around it.
double cpuAt(const std::vector<std::pair<int64_t, double>>& samples, int64_t ms) {
  for (size_t i = 1; i < samples.size(); ++i) {
    if (samples[i].first >= ms) {
      const auto& [t0, c0] = samples[i - 1];
      const auto& [t1, c1] = samples[i];
      return t1 == t0 ? c1 : c0 + (c1 - c0) * static_cast<double>(ms - t0) / (t1 - t0);
    }
  }
  return samples.back().second;
}

int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::string suffix() {
  return std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() %
                        100000000);
}

std::string bridgeConfig(const std::string& bootstrap, const std::string& linger_ms,
                         const std::string& acks, const std::string& requests,
                         const std::string& replies, const std::string& group,
                         const std::string& authority, int in_flight) {
  return "name: bench\n"
         "bindings:\n"
         "  kafka_client0:\n"
         "    type: kafka\n"
         "    kind: client\n"
         "    options:\n"
         "      servers: [\"" +
         bootstrap + "\"]\n" +
         (linger_ms.empty() ? ""
                            : "      properties:\n        linger.ms: \"" + linger_ms + "\"\n") +
         "  kafka_grpc0:\n"
         "    type: kafka-grpc\n"
         "    kind: remote_server\n"
         "    entry: kafka_client0\n"
         "    options:\n"
         "      acks: " +
         acks +
         "\n"
         "      group-id: " +
         group + "\n      max-in-flight: " + std::to_string(in_flight) +
         "\n"
         "    routes:\n"
         "      - exit: grpc_client0\n"
         "        when:\n"
         "          - topic: " +
         requests + "\n            reply-to: " + replies +
         "\n"
         "        with:\n"
         "          scheme: http\n"
         "          authority: " +
         authority +
         "\n"
         "  grpc_client0:\n"
         "    type: grpc\n"
         "    kind: client\n";
}

// Paced runs (--rate) start their load once this many requests, written ahead, are answered.
constexpr uint64_t kWarmRequests = 200;

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {}

  ~Bench() {
    echo_.reset();
    if (broker_started_ && !options_.keep_broker) {
      std::string output;
      runCommand({options_.source_dir + "/scripts/kafka/broker.sh", "stop", broker_dir_}, output,
                 60s);
    }
  }

  bool setUp() {
    work_dir_ = options_.build_dir + "/bench/e2e/run-" + suffix();
    std::filesystem::create_directories(work_dir_);
    if (options_.bootstrap.empty() && !startBroker()) {
      return false;
    }
    echo_ = std::make_unique<MeasuredChild>(
        std::vector<std::string>{options_.build_dir + "/examples/echo/echo-server", "--port", "0"});
    const auto address = echo_->awaitLine("listening on ([0-9.]+:[0-9]+)", 30s);
    if (!address) {
      std::fprintf(stderr, "e2e-bench: echo-server did not start: %s\n", echo_->output().c_str());
      return false;
    }
    echo_address_ = *address;
    std::printf(
        "e2e-bench: %llu unary requests per run, %d partitions, %d in flight, broker %s, "
        "echo-server %s, logs in %s\n",
        static_cast<unsigned long long>(options_.requests), options_.partitions, options_.in_flight,
        options_.bootstrap.c_str(), echo_address_.c_str(), work_dir_.c_str());
    return true;
  }

  // Runs one pipeline on fresh topics with `count` requests.
  RunFigures run(const std::string& pipeline, int round, uint64_t count) {
    RunFigures figures;
    figures.pipeline = pipeline;
    figures.round = round;
    const std::string name = pipeline + "-" + std::to_string(round) + "-" + suffix();
    const std::string requests = "bench-requests-" + name;
    const std::string replies = "bench-replies-" + name;
    const std::string group = "bench-" + name;
    std::string error;
    if (!createTopics(options_.bootstrap, {requests, replies}, options_.partitions, error)) {
      figures.failure = error;
      return figures;
    }
    RequestBatch batch;
    batch.topic = requests;
    batch.reply_to = replies;
    batch.id_prefix = name;
    batch.count = count;
    const bool paced = options_.rate > 0 && round > 0;
    // Paced: a few requests first (kWarmRequests, spread over the partitions), whose answers say
    // the pipeline is consuming them all and has produced to the reply topic; then the paced
    // load starts, so no latency includes joining the group, the first fetch or the first
    // produce.
    RequestBatch warm = batch;
    warm.id_prefix = name + "-warm";
    warm.count = kWarmRequests;
    const auto preload_start = Clock::now();
    if (!preloadRequests(options_.bootstrap, paced ? warm : batch, error)) {
      figures.failure = error;
      return figures;
    }
    if (!paced) {
      std::fprintf(stderr, "e2e-bench: %s #%d: %llu requests written in %.1f s\n", pipeline.c_str(),
                   round, static_cast<unsigned long long>(count),
                   seconds(Clock::now() - preload_start));
    }
    const uint64_t warm_count = paced ? kWarmRequests : 0;
    const uint64_t expected = count + warm_count;

    std::vector<std::string> argv;
    if (pipeline == "direct") {
      argv = {options_.build_dir + "/bench/e2e/direct-pipeline",
              "--bootstrap",
              options_.bootstrap,
              "--topic",
              requests,
              "--group",
              group,
              "--target",
              echo_address_,
              "--in-flight",
              std::to_string(options_.in_flight),
              "--reply-to",
              replies};
      if (!options_.linger_ms.empty()) {
        argv.insert(argv.end(), {"--linger-ms", options_.linger_ms});
      }
      argv.insert(argv.end(), {"--acks", options_.acks == "in_sync_replicas" ? "all" : "1"});
    } else {  // bridge, bridge2
      const std::string config = work_dir_ + "/" + name + ".yaml";
      std::ofstream(config) << bridgeConfig(options_.bootstrap, options_.linger_ms, options_.acks,
                                            requests, replies, group, echo_address_,
                                            options_.in_flight);
      argv = {options_.build_dir + "/runtime/host/zilla-host",
              "start",
              "-c",
              config,
              "--plugins",
              options_.build_dir + "/bindings",
              "--log-format",
              "text"};
    }

    ReplyCounter counter(options_.bootstrap, replies, options_.partitions);
    if (!counter.ok()) {
      figures.failure = "cannot read the reply topic";
      return figures;
    }
    const double echo_before = echo_->cpuSecondsNow();
    // The process's CPU, sampled at every read of the reply topic: read at the record
    // timestamps of the first reply and the last status, it is the CPU of the reply window.
    std::vector<std::pair<int64_t, double>> cpu_samples = {{epochMs(), 0.0}};
    const auto start = Clock::now();
    std::vector<std::unique_ptr<MeasuredChild>> children;
    children.push_back(std::make_unique<MeasuredChild>(argv));
    if (pipeline == "bridge2") {
      children.push_back(std::make_unique<MeasuredChild>(argv));
    }
    const auto deadline =
        start + 120s + std::chrono::seconds(count / 100) +
        std::chrono::seconds(paced ? static_cast<int64_t>(count / options_.rate) : 0);
    std::unique_ptr<PacedRequests> load;
    std::vector<long> rss_at_answered;  // RSS sampled at every poll, by answers so far
    const auto rssNow = [&] {
      long sum = 0;
      for (const auto& child : children) {
        sum += std::max(0L, child->rssKbNow());
      }
      return sum;
    };
    while (counter.answered() < expected) {
      counter.poll(50ms);
      if (paced && !load && counter.answered() >= warm_count) {
        load = std::make_unique<PacedRequests>(options_.bootstrap, batch, options_.rate);
        std::fprintf(stderr, "e2e-bench: %s #%d: writing %llu requests at %.0f/s\n",
                     pipeline.c_str(), round, static_cast<unsigned long long>(count),
                     options_.rate);
      }
      if (paced && load) {
        const size_t answered = counter.answered() - warm_count;
        if (rss_at_answered.size() <= answered) {
          rss_at_answered.resize(answered + 1, 0);
        }
        rss_at_answered[answered] = rssNow();
      }
      double cpu = 0;
      bool running = true;
      for (const auto& child : children) {
        const double used = child->cpuSecondsNow();
        cpu = used >= 0 && cpu >= 0 ? cpu + used : -1;
        running = running && child->running();
      }
      if (cpu >= 0) {
        cpu_samples.emplace_back(epochMs(), cpu);
      }
      if (!running) {
        figures.failure = "a process exited early";
        break;
      }
      if (Clock::now() > deadline) {
        figures.failure = "timed out with " + std::to_string(counter.answered()) + " of " +
                          std::to_string(expected) + " answered";
        break;
      }
    }
    ChildUsage usage;
    usage.exit_status = 0;
    for (size_t i = 0; i < children.size(); ++i) {
      const ChildUsage one = children[i]->stop(SIGTERM, 60s);
      usage.cpu_seconds += one.cpu_seconds;
      usage.max_rss_kb = std::max(usage.max_rss_kb, one.max_rss_kb);
      usage.context_switches += one.context_switches;
      usage.exit_status = usage.exit_status != 0 ? usage.exit_status : one.exit_status;
      std::ofstream(work_dir_ + "/" + name + (i == 0 ? "" : "-" + std::to_string(i)) + ".log")
          << children[i]->output();
    }
    figures.echo_cpu_s = echo_->cpuSecondsNow() - echo_before;
    if (load) {
      const std::string written = load->finish();
      if (!written.empty() && figures.failure.empty()) {
        figures.failure = "paced writer: " + written;
      }
      latencies(batch, load->sentNs(), counter, figures);
      // The last sample at or below each mark (answers are counted in jumps between polls).
      const auto rssAt = [&](size_t answered) {
        long rss = 0;
        for (size_t i = 0; i <= answered && i < rss_at_answered.size(); ++i) {
          rss = rss_at_answered[i] != 0 ? rss_at_answered[i] : rss;
        }
        return rss;
      };
      figures.rss_tenth_kb = rssAt(count / 10);
      figures.rss_half_kb = rssAt(count / 2);
      figures.rss_end_kb = rssAt(count);
    }

    figures.answered = counter.answered() - warm_count;
    figures.repeated = counter.statusRecords() - counter.answered();
    figures.data_records = counter.dataRecords();
    figures.status_records = counter.statusRecords();
    figures.error_statuses = counter.errorStatuses();
    figures.exit_status = usage.exit_status;
    figures.cpu_s = usage.cpu_seconds;
    figures.max_rss_kb = usage.max_rss_kb;
    figures.context_switches = usage.context_switches;
    if (counter.firstReplyMs() > 0 && counter.lastStatusMs() > 0) {
      const int64_t start_ms = cpu_samples.front().first;
      figures.first_reply_s = (counter.firstReplyMs() - start_ms) / 1000.0;
      figures.wall_s = (counter.lastStatusMs() - start_ms) / 1000.0;
      figures.window_s = (counter.lastStatusMs() - counter.firstReplyMs()) / 1000.0;
      figures.requests_per_s = figures.window_s > 0 ? expected / figures.window_s : 0;
      figures.window_cpu_s =
          cpuAt(cpu_samples, counter.lastStatusMs()) - cpuAt(cpu_samples, counter.firstReplyMs());
    }
    if (figures.failure.empty()) {
      if (figures.error_statuses != 0) {
        figures.failure =
            std::to_string(figures.error_statuses) + " replies with a non-zero status";
      } else if (figures.data_records < expected) {
        figures.failure = "only " + std::to_string(figures.data_records) + " reply records";
      } else if (usage.exit_status != 0) {
        figures.failure = "exit status " + std::to_string(usage.exit_status) + " after SIGTERM";
      }
    }
    figures.ok = figures.failure.empty();
    if (!figures.ok) {
      std::fprintf(stderr, "e2e-bench: %s #%d failed: %s (log: %s/%s.log)\n", pipeline.c_str(),
                   round, figures.failure.c_str(), work_dir_.c_str(), name.c_str());
    }
    return figures;
  }

 private:
  // Percentiles of request written -> its status tombstone produced (that record's timestamp, in
  // whole ms: each figure may read up to 1 ms low, alike for both pipelines), over `batch`.
  static void latencies(const RequestBatch& batch, const std::vector<int64_t>& sent_ns,
                        const ReplyCounter& counter, RunFigures& figures) {
    std::vector<double> ms;
    ms.reserve(sent_ns.size());
    for (uint64_t n = 0; n < sent_ns.size(); ++n) {
      const auto found = counter.statusTimestamps().find(requestId(batch, n));
      if (found != counter.statusTimestamps().end() && sent_ns[n] > 0) {
        ms.push_back(static_cast<double>(found->second) - static_cast<double>(sent_ns[n]) / 1e6);
      }
    }
    if (ms.empty()) {
      return;
    }
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
    };
    figures.p50_ms = at(0.50);
    figures.p99_ms = at(0.99);
    figures.p999_ms = at(0.999);
    figures.max_ms = ms.back();
  }

  bool startBroker() {
    broker_dir_ = options_.build_dir + "/bench/e2e/kafka-broker";
    const std::string script = options_.source_dir + "/scripts/kafka/broker.sh";
    std::string output;
    if (runCommand({script, "status", broker_dir_}, output, 60s) == 0) {
      std::ifstream(broker_dir_ + "/bootstrap") >> options_.bootstrap;
      std::fprintf(stderr, "e2e-bench: reusing the broker of %s at %s\n", broker_dir_.c_str(),
                   options_.bootstrap.c_str());
      return !options_.bootstrap.empty();
    }
    const std::string port = std::to_string(freePort());
    std::fprintf(stderr, "e2e-bench: starting a Kafka broker on 127.0.0.1:%s (%s)\n", port.c_str(),
                 broker_dir_.c_str());
    if (runCommand({script, "start", broker_dir_, port}, output, 300s) != 0) {
      std::fprintf(stderr, "e2e-bench: broker.sh start failed:\n%s\n", output.c_str());
      return false;
    }
    broker_started_ = true;
    options_.bootstrap = "127.0.0.1:" + port;
    return true;
  }

  Options options_;
  std::string work_dir_;
  std::string broker_dir_;
  bool broker_started_ = false;
  std::unique_ptr<MeasuredChild> echo_;
  std::string echo_address_;
};

double median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 != 0 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

void printRun(const RunFigures& f, uint64_t count) {
  const double per_1000 = 1000.0 / static_cast<double>(count);
  std::printf("%-7s #%-2d %8.2f %8.2f %8.2f %9.0f %7.2f %9.1f %9.1f %8.1f %7.2f %6.2f %9llu%s\n",
              f.pipeline.c_str(), f.round, f.wall_s, f.first_reply_s, f.window_s, f.requests_per_s,
              f.cpu_s, f.cpu_s * per_1000 * 1000, f.window_cpu_s * per_1000 * 1000,
              f.max_rss_kb / 1024.0, f.echo_cpu_s,
              static_cast<double>(f.context_switches) * per_1000 / 1000.0,
              static_cast<unsigned long long>(f.answered), f.ok ? "" : "  FAILED");
}

bool parseOptions(int argc, char** argv, Options& options) {
  bool requests_given = false;
  bool warmup_given = false;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--bootstrap") {
      options.bootstrap = value();
    } else if (arg == "--requests") {
      options.requests = std::strtoull(value().c_str(), nullptr, 10);
      requests_given = true;
    } else if (arg == "--smoke") {
      smoke = true;
    } else if (arg == "--warmup") {
      options.warmup = std::strtoull(value().c_str(), nullptr, 10);
      warmup_given = true;
    } else if (arg == "--rounds") {
      options.rounds = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--in-flight") {
      options.in_flight = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--partitions") {
      options.partitions = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--linger-ms") {
      options.linger_ms = value();
      if (options.linger_ms == "default") {
        options.linger_ms.clear();
      }
    } else if (arg == "--acks") {
      options.acks = value();
      if (options.acks != "leader_only" && options.acks != "in_sync_replicas") {
        std::fprintf(stderr, "e2e-bench: --acks leader_only|in_sync_replicas\n");
        std::exit(2);
      }
    } else if (arg == "--only") {
      options.only = value();
    } else if (arg == "--rate") {
      options.rate = std::max(0.0, std::atof(value().c_str()));
    } else if (arg == "--scale-out") {
      options.scale_out = true;
    } else if (arg == "--keep-broker") {
      options.keep_broker = true;
    } else if (arg == "--build-dir") {
      options.build_dir = value();
    } else if (arg == "--source-dir") {
      options.source_dir = value();
    } else {
      std::fprintf(
          stderr,
          "usage: e2e-bench [--bootstrap HOST:PORT] [--requests N | --smoke] "
          "[--rounds R] [--warmup N] [--in-flight N] [--partitions N] "
          "[--linger-ms N|default] [--acks leader_only|in_sync_replicas] [--only direct|bridge] "
          "[--scale-out] [--rate R] [--keep-broker] "
          "[--build-dir DIR] "
          "[--source-dir DIR]\n");
      return false;
    }
  }
  if (smoke) {
    options.requests = requests_given ? options.requests : 500;
    options.warmup = warmup_given ? options.warmup : 500;
  }
  return options.requests > 0 &&
         (options.only.empty() || options.only == "direct" || options.only == "bridge");
}

}  // namespace
}  // namespace zb::bench

int main(int argc, char** argv) {
  using namespace zb::bench;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  Options options;
  if (!parseOptions(argc, argv, options)) {
    return 2;
  }
  const uint64_t count = options.requests;
  Bench bench(options);
  if (!bench.setUp()) {
    return 2;
  }
  if (options.warmup > 0) {
    // The broker's JVM and the echo service warm up on a run that is not measured.
    const RunFigures warm = bench.run("direct", 0, options.warmup);
    std::fprintf(stderr, "e2e-bench: warm-up with %llu requests: %s\n",
                 static_cast<unsigned long long>(options.warmup),
                 warm.ok ? "done" : warm.failure.c_str());
  }

  std::vector<RunFigures> runs;
  for (int round = 1; round <= options.rounds; ++round) {
    for (const char* pipeline : {"direct", "bridge", "bridge2"}) {
      const bool wanted = std::string(pipeline) == "bridge2"
                              ? options.scale_out && options.only != "direct"
                              : options.only.empty() || options.only == pipeline;
      if (wanted) {
        runs.push_back(bench.run(pipeline, round, count));
      }
    }
  }

  std::printf("\n%-10s %8s %8s %8s %9s %7s %9s %9s %8s %7s %6s %9s\n", "run", "wall s", "first s",
              "window s", "req/s", "CPU s", "CPU ms/1k", "win ms/1k", "RSS MB", "echo s", "cs/req",
              "answered");
  for (const RunFigures& run : runs) {
    printRun(run, count);
  }
  std::printf(
      "  by reply record timestamps: wall = start -> last status, first = start -> first\n"
      "  reply, window = first reply -> last status, req/s over the window. CPU: rusage of the\n"
      "  process's whole life; CPU ms/1k: per 1000 requests; win ms/1k: only within the window;\n"
      "  echo s: the echo service's CPU during the run; cs/req: context switches of all the\n"
      "  process's threads (rusage) per request.\n");

  bool all_ok = true;
  const auto medianOf = [&](const std::string& pipeline, auto field) {
    std::vector<double> values;
    for (const RunFigures& run : runs) {
      if (run.pipeline == pipeline && run.ok) {
        values.push_back(field(run));
      }
    }
    return median(values);
  };
  for (const RunFigures& run : runs) {
    all_ok = all_ok && run.ok;
  }
  const double direct_rps =
      medianOf("direct", [](const RunFigures& r) { return r.requests_per_s; });
  const double bridge_rps =
      medianOf("bridge", [](const RunFigures& r) { return r.requests_per_s; });
  // Paced runs answer at the rate they are given: their throughput and CPU say nothing of the
  // targets (CPU per request is mostly idle polling at a low rate).
  if (direct_rps > 0 && bridge_rps > 0 && options.rate == 0) {
    const double direct_cpu = medianOf("direct", [](const RunFigures& r) { return r.cpu_s; });
    const double bridge_cpu = medianOf("bridge", [](const RunFigures& r) { return r.cpu_s; });
    const double direct_window_cpu =
        medianOf("direct", [](const RunFigures& r) { return r.window_cpu_s; });
    const double bridge_window_cpu =
        medianOf("bridge", [](const RunFigures& r) { return r.window_cpu_s; });
    const double direct_rss =
        medianOf("direct", [](const RunFigures& r) { return static_cast<double>(r.max_rss_kb); });
    const double bridge_rss =
        medianOf("bridge", [](const RunFigures& r) { return static_cast<double>(r.max_rss_kb); });
    const double throughput = bridge_rps / direct_rps;
    const double cpu = bridge_cpu / direct_cpu;
    std::printf("\nratios bridge/direct (medians of %d round%s):\n", options.rounds,
                options.rounds == 1 ? "" : "s");
    std::printf("  throughput                %.2f  (target >= 0.80: %s)\n", throughput,
                throughput >= 0.8 ? "met" : "NOT met");
    std::printf("  CPU per request           %.2f  (target <= 1.25: %s)  %.1f vs %.1f us/request\n",
                cpu, cpu <= 1.25 ? "met" : "NOT met", bridge_cpu * 1e6 / count,
                direct_cpu * 1e6 / count);
    if (direct_window_cpu > 0) {
      std::printf("  CPU per request, window   %.2f  %.1f vs %.1f us/request\n",
                  bridge_window_cpu / direct_window_cpu, bridge_window_cpu * 1e6 / count,
                  direct_window_cpu * 1e6 / count);
    }
    std::printf("  max RSS                   %.2f  %.1f vs %.1f MB\n", bridge_rss / direct_rss,
                bridge_rss / 1024, direct_rss / 1024);
    const double direct_cs = medianOf(
        "direct", [](const RunFigures& r) { return static_cast<double>(r.context_switches); });
    const double bridge_cs = medianOf(
        "bridge", [](const RunFigures& r) { return static_cast<double>(r.context_switches); });
    if (direct_cs > 0) {
      std::printf("  context switches          %.2f  %.2f vs %.2f per request\n",
                  bridge_cs / direct_cs, bridge_cs / count, direct_cs / count);
    }
  }
  if (options.rate > 0) {
    std::printf(
        "\nat %.0f requests/s: latency from request written to its status produced (record "
        "timestamps, whole ms), RSS as the load went\n%-10s %8s %8s %8s %8s %12s %12s %12s\n",
        options.rate, "run", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "RSS MB @10%", "RSS MB @50%",
        "RSS MB @100%");
    for (const RunFigures& run : runs) {
      std::printf("%-7s #%-2d %8.2f %8.2f %8.2f %8.2f %12.1f %12.1f %12.1f\n", run.pipeline.c_str(),
                  run.round, run.p50_ms, run.p99_ms, run.p999_ms, run.max_ms,
                  run.rss_tenth_kb / 1024.0, run.rss_half_kb / 1024.0, run.rss_end_kb / 1024.0);
    }
    const double direct_p99 = medianOf("direct", [](const RunFigures& r) { return r.p99_ms; });
    const double bridge_p99 = medianOf("bridge", [](const RunFigures& r) { return r.p99_ms; });
    if (direct_p99 > 0 && bridge_p99 > 0) {
      std::printf("  p99 added by the bridge  %.2f ms  (target <= 1 ms: %s)\n",
                  bridge_p99 - direct_p99, bridge_p99 - direct_p99 <= 1.0 ? "met" : "NOT met");
    }
    const double half =
        medianOf("bridge", [](const RunFigures& r) { return double(r.rss_half_kb); });
    const double end = medianOf("bridge", [](const RunFigures& r) { return double(r.rss_end_kb); });
    if (half > 0) {
      std::printf("  bridge RSS, second half of the load  %+.1f%%  (target: flat)\n",
                  (end - half) * 100.0 / half);
    }
  }

  const double bridge2_rps =
      medianOf("bridge2", [](const RunFigures& r) { return r.requests_per_s; });
  if (bridge_rps > 0 && bridge2_rps > 0) {
    const double scale = bridge2_rps / bridge_rps;
    std::printf("\nscale-out, two zilla-host processes / one (medians of %d round%s):\n",
                options.rounds, options.rounds == 1 ? "" : "s");
    if (options.rate == 0) {
      std::printf("  throughput                %.2f  (target: does not fall, >= 1.00: %s)\n", scale,
                  scale >= 1.0 ? "met" : "NOT met");
    }
    for (const RunFigures& run : runs) {
      if (run.pipeline == "bridge2") {
        std::printf("  bridge2 #%d: %llu answered more than once (target: none)\n", run.round,
                    static_cast<unsigned long long>(run.repeated));
      }
    }
  }
  if (!all_ok) {
    std::printf("FAIL: a run did not answer every request (see above)\n");
    return 1;
  }
  return 0;
}
