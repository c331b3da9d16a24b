// A Kafka broker restart under load, for real: the test runs a broker of its own
// (scripts/kafka/broker.sh, a KRaft node on a free port), stops it while zilla-host is answering
// a load of requests, and starts it again on the same port and data dir. Nothing is restarted on
// the zilla-host side: its Kafka clients must find the broker again by themselves. Every request
// must end with a status-0 tombstone (calls in flight at the stop may be answered twice), and
// requests written after the restart prove that consumption resumed.
#include "chain_config.h"
#include "chain_processes.h"
#include "kafka_requests.h"
#include "support/own_broker.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace {

using namespace std::chrono_literals;
using zb::test::RequestBatch;

const std::string kBuild = ZB_BINARY_DIR;

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("Kafka broker restart under load: no request lost, consumption resumes by itself") {
  zb::test::OwnBroker broker(
      zb::test::OwnBroker::uniqueDir(kBuild + "/tests/integration/broker-restart-"));
  broker.start();
  const std::string bootstrap = broker.bootstrap();
  const std::string suffix = zb::test::uniqueSuffix();
  const std::string requests = "broker-restart-requests-" + suffix;
  const std::string responses = "broker-restart-responses-" + suffix;
  const std::string dir = kBuild + "/tests/integration/broker-restart-host-" + suffix;

  // 500 calls of 100 ms, 8 at a time: about 6 s of work, so the stop (about 2 s for a clean
  // shutdown) lands with most of it still to do.
  constexpr int kMaxInFlight = 8;
  const RequestBatch before{.prefix = "before-", .count = 500, .echo_delay_ms = 100};
  const RequestBatch after{.prefix = "after-", .count = 50};
  const size_t total = static_cast<size_t>(before.count + after.count);
  zb::test::produceRequests(bootstrap, requests, responses, before);

  zb::test::EchoServer echo;
  const auto echo_address = echo.awaitAddress();
  REQUIRE(echo_address);

  // The kafka binding with librdkafka's defaults: reconnecting is its job, not a tuned option's.
  const std::string config = zb::test::writeChainConfig(dir, {.name = "broker-restart",
                                                              .bootstrap = bootstrap,
                                                              .requests = requests,
                                                              .responses = responses,
                                                              .authority = *echo_address,
                                                              .max_in_flight = kMaxInFlight});

  zb::test::ReplyCounter replies(bootstrap, responses);
  zb::test::ZillaHost host(config);
  // Before any SIGTERM below (see awaitStarted).
  REQUIRE_MESSAGE(host.awaitStarted(), host.output());

  const bool some = replies.readUntil([&] { return replies.answered() >= 50; }, 120s, host);
  REQUIRE_MESSAGE(some, host.output());
  const size_t answered_before_stop = replies.answered();
  const auto stop_begun = std::chrono::steady_clock::now();
  broker.stop();
  const int64_t down_ms = wallClockMs();
  const auto stopped = std::chrono::steady_clock::now();
  host.drain();
  CHECK_MESSAGE(host.alive(), host.output());

  broker.start();
  const int64_t up_ms = wallClockMs();
  const auto started = std::chrono::steady_clock::now();
  CHECK_MESSAGE(host.alive(), host.output());
  // Written to the restarted broker: the binding can only see them if it fetches again.
  zb::test::produceRequests(bootstrap, requests, responses, after);

  const bool all = replies.readUntil([&] { return replies.answered() == total; }, 180s, host);
  const auto done = std::chrono::steady_clock::now();
  // First-batch requests answered only once the broker was down (their replies waited in the
  // producer) or back: the stop landed mid-load.
  size_t before_answered_late = 0;
  int64_t first_answer_after_up_ms = INT64_MAX;  // the first call completed after the restart
  for (const auto& [id, at_ms] : replies.lastAnswerMs()) {
    if (id.starts_with(before.prefix)) {
      before_answered_late += at_ms >= down_ms ? 1 : 0;
    }
    if (at_ms >= up_ms) {
      first_answer_after_up_ms = std::min(first_answer_after_up_ms, at_ms);
    }
  }
  const auto ms = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  MESSAGE("requests: " << total << " (" << before.count << " before the stop, " << after.count
                       << " after the restart); answered before the stop began: "
                       << answered_before_stop << "; first-batch answers stamped after the broker "
                       << "was down: " << before_answered_late
                       << "; answered more than once: " << replies.answeredMoreThanOnce()
                       << "; clean stop took " << ms(stopped - stop_begun)
                       << " ms, down (stop done to answering again) " << ms(started - stopped)
                       << " ms; first call completed " << (first_answer_after_up_ms - up_ms)
                       << " ms after the broker answered again; all answered " << ms(done - started)
                       << " ms after the restart");

  INFO("zilla-host said:\n" << host.output());
  CHECK(all);
  CHECK(replies.answered() == total);
  CHECK(replies.answeredOnlyWith("0") == replies.answered());

  CHECK(answered_before_stop < static_cast<size_t>(before.count));
  CHECK(before_answered_late > 0);
  // Only calls in flight at the stop may be answered twice: at most max-in-flight of them.
  CHECK(replies.answeredMoreThanOnce() <= static_cast<size_t>(kMaxInFlight));

  CHECK(host.alive());
  zb::test::checkStopsCleanly(host);
}
