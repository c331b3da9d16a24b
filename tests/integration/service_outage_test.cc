// A gRPC service outage under the whole chain, for real (the kafka_broker fixture, zilla-host,
// the echo service): requests arrive while nothing listens at the route's authority.
// - Service back within the attempt budget: every request is retried with backoff (counted by
//   kafka_grpc_retries_total, bounded by the backoff schedule), zilla-host stays nearly idle
//   meanwhile (its CPU time from /proc), nothing is answered during the outage, and once the
//   service listens every request is answered with status 0.
// - Service still absent after the budget: every request is answered with status 14, after
//   exactly max-attempts attempts.
#include "chain_config.h"
#include "chain_processes.h"
#include "kafka_requests.h"
#include "prometheus_scrape.h"
#include "support/free_port.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using zb::test::ChainRetry;
using zb::test::freePort;
using zb::test::metricValue;
using zb::test::ReplyCounter;
using zb::test::RequestBatch;
using zb::test::ZillaHost;

const std::string kBuild = ZB_BINARY_DIR;

// CPU time (user + system, all threads) the process has used so far, from /proc/<pid>/stat.
double cpuSeconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at field 3 (state); utime and
  // stime are fields 14 and 15.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> values;
  std::string value;
  while (fields >> value) {
    values.push_back(value);
  }
  REQUIRE(values.size() > 12);
  const double ticks = std::stod(values[11]) + std::stod(values[12]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// kafka-grpc's default retry jitter (not written to the config).
constexpr double kJitter = 0.2;

// The most attempts one call can make within `seconds` under `retry`: each delay is at least
// (1 - jitter) times min(initial x 2^k, max) (the default multiplier is 2).
int mostAttemptsWithin(const ChainRetry& retry, double seconds) {
  int attempts = 1;
  double delay_ms = retry.initial_backoff_ms;
  double elapsed_ms = 0;
  while (attempts < retry.max_attempts) {
    elapsed_ms += (1 - kJitter) * std::min<double>(delay_ms, retry.max_backoff_ms);
    if (elapsed_ms > seconds * 1000) {
      break;
    }
    ++attempts;
    delay_ms *= 2;
  }
  return attempts;
}

// zilla-host running kafka -> kafka-grpc -> grpc on the fixture's broker, its route going to
// `authority` with `retry`, and a Prometheus endpoint on a free port.
class Chain {
 public:
  Chain(const std::string& name, const std::string& authority, const ChainRetry& retry)
      : bootstrap_(zb::test::fixtureBootstrap()),
        requests_(name + "-requests-" + suffix_),
        responses_(name + "-responses-" + suffix_),
        dir_(kBuild + "/tests/integration/" + name + "-" + suffix_) {
    const std::string config = zb::test::writeChainConfig(dir_, {.name = name,
                                                                 .bootstrap = bootstrap_,
                                                                 .requests = requests_,
                                                                 .responses = responses_,
                                                                 .authority = authority,
                                                                 .retry = retry,
                                                                 .prometheus = true});
    host_.emplace(config);
    const auto port = host_->awaitMetricsPort();
    REQUIRE_MESSAGE(port, host_->output());
    metrics_port_ = *port;
    // Before the SIGTERM at the end (see awaitStarted).
    REQUIRE_MESSAGE(host_->awaitStarted(), host_->output());
  }

  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& requests() const { return requests_; }
  const std::string& responses() const { return responses_; }
  ZillaHost& host() { return *host_; }
  std::string metrics() const { return zb::test::scrapeMetrics(metrics_port_); }

 private:
  std::string suffix_ = zb::test::uniqueSuffix();
  std::string bootstrap_;
  std::string requests_;
  std::string responses_;
  std::string dir_;
  std::optional<ZillaHost> host_;
  int metrics_port_ = 0;
};

}  // namespace

TEST_CASE("gRPC service down, then back: retried with backoff, answered, CPU low meanwhile") {
  const int port = freePort();  // nothing listens there until the echo service starts below
  const std::string authority = "127.0.0.1:" + std::to_string(port);
  // 30 attempts last at least about 22 s at these delays (even with the most jitter): the
  // 10 s outage plus the start-up and the service's return fit well within the budget.
  const ChainRetry retry{.max_attempts = 30, .initial_backoff_ms = 200, .max_backoff_ms = 1000};
  constexpr auto kOutage = 10s;
  constexpr int kRequests = 32;  // fewer than max-in-flight (64): all wait at once
  Chain chain("service-outage", authority, retry);
  const auto host_started = std::chrono::steady_clock::now();
  ReplyCounter replies(chain.bootstrap(), chain.responses());
  zb::test::produceRequests(chain.bootstrap(), chain.requests(), chain.responses(),
                            RequestBatch{.count = kRequests});

  // Every request has been refused once and is waiting for its next attempt.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  double retries = 0;
  while ((retries = metricValue(chain.metrics(), "kafka_grpc_retries_total")) < kRequests &&
         std::chrono::steady_clock::now() < deadline) {
    chain.host().drain();
    replies.readUntil([] { return false; }, 100ms);
  }
  REQUIRE_MESSAGE(retries >= kRequests, chain.host().output());

  // The outage: no answer may come (a 14 now would mean the budget was not honoured) and the
  // host must idle between attempts.
  const auto outage_start = std::chrono::steady_clock::now();
  const double cpu_start = cpuSeconds(chain.host().pid());
  const bool answered_during_outage =
      replies.readUntil([&] { return replies.answered() > 0; }, kOutage, chain.host());
  const double cpu_share =
      (cpuSeconds(chain.host().pid()) - cpu_start) / secondsSince(outage_start);
  const double retries_in_outage = metricValue(chain.metrics(), "kafka_grpc_retries_total");
  const double since_start = secondsSince(host_started);  // after the scrape: an upper bound
  CHECK_MESSAGE(!answered_during_outage, chain.host().output());
  CHECK(cpu_share < 0.2);
  // Backoff, not a busy retry: no more attempts than the schedule allows since the host
  // started, and still retrying (not given up) through the outage.
  CHECK(retries_in_outage <= kRequests * (mostAttemptsWithin(retry, since_start) - 1));
  CHECK(retries_in_outage >= kRequests * 5);

  zb::test::EchoServer echo(port);
  REQUIRE_MESSAGE(echo.awaitLine("listening on", 30s), echo.output());
  const auto service_back = std::chrono::steady_clock::now();
  const double outage_seconds = std::chrono::duration<double>(service_back - host_started).count();
  const bool all =
      replies.readUntil([&] { return replies.answered() == kRequests; }, 30s, chain.host());
  const double answered_after = secondsSince(service_back);
  const std::string metrics = chain.metrics();
  MESSAGE("requests: " << kRequests << "; service absent for " << outage_seconds
                       << " s from the host's start (" << kOutage.count()
                       << " s of it measured); retries during the outage: " << retries_in_outage
                       << " (" << retries_in_outage / kRequests << " per request, at most "
                       << mostAttemptsWithin(retry, since_start) - 1
                       << " allowed by the schedule); zilla-host CPU while waiting: "
                       << cpu_share * 100 << " % of one core; all answered " << answered_after
                       << " s after the service listened; retries in all: "
                       << metricValue(metrics, "kafka_grpc_retries_total"));
  INFO("zilla-host said:\n" << chain.host().output());
  CHECK(all);
  CHECK(replies.answeredOnlyWith("0") == kRequests);
  CHECK(replies.answeredMoreThanOnce() == 0);
  CHECK(metricValue(metrics, "kafka_grpc_calls_total", "status=\"0\"") == kRequests);
  zb::test::checkStopsCleanly(chain.host());
}

TEST_CASE("gRPC service absent past the attempt budget: every request answered with status 14") {
  const std::string authority = "127.0.0.1:" + std::to_string(freePort());  // nothing listens
  const ChainRetry retry{.max_attempts = 2, .initial_backoff_ms = 50, .max_backoff_ms = 100};
  constexpr int kRequests = 20;
  Chain chain("service-absent", authority, retry);
  ReplyCounter replies(chain.bootstrap(), chain.responses());
  const auto sent = std::chrono::steady_clock::now();
  zb::test::produceRequests(chain.bootstrap(), chain.requests(), chain.responses(),
                            RequestBatch{.count = kRequests});
  const bool all =
      replies.readUntil([&] { return replies.answered() == kRequests; }, 60s, chain.host());
  const double took = secondsSince(sent);
  const std::string metrics = chain.metrics();
  MESSAGE("requests: " << kRequests << "; all answered with status 14 within " << took
                       << " s of being written; retries: "
                       << metricValue(metrics, "kafka_grpc_retries_total"));
  INFO("zilla-host said:\n" << chain.host().output());
  CHECK(all);
  CHECK(replies.answeredOnlyWith("14") == kRequests);
  CHECK(replies.answeredMoreThanOnce() == 0);
  // Exactly the budget: one retry per request, then the answer.
  CHECK(metricValue(metrics, "kafka_grpc_retries_total") == kRequests);
  CHECK(metricValue(metrics, "kafka_grpc_calls_total", "status=\"14\"") == kRequests);
  zb::test::checkStopsCleanly(chain.host());
}
