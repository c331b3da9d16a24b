// The broker and the service crash under load: the test runs a Kafka broker of its own; while
// one zilla-host answers ZB_CHAOS_REQUESTS unary requests (50-500 ms each), the broker's JVM is
// killed with SIGKILL and started again (same dir, same port), then later the echo service is
// killed with SIGKILL and started again on the same port. zilla-host is left alone. Its retry
// budget covers the service's short absence, so no request may be lost and every answer must be
// 0, or 14 for a call the service's crash cut off after it took the request, nothing else.
// (tests/integration/broker_restart_test.cc is the clean-stop version of the broker's part.)
#include "chaos/chaos.h"
#include "support/own_broker.h"

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using namespace zb::chaos;

}  // namespace

TEST_CASE("broker SIGKILL, then service SIGKILL, under load: none lost, statuses 0 or 14") {
  zb::test::OwnBroker broker(zb::test::OwnBroker::uniqueDir(ZB_BINARY_DIR "/tests/chaos/broker-"));
  broker.start();
  const std::string bootstrap = broker.bootstrap();
  // librdkafka's reconnect backoff grows to 10 s while the broker is down; capped, the host
  // finds the broker again within half a second of its return (docs/operations.md). 8 attempts
  // 100 ms..1 s apart last at least about 3.6 s (with the most jitter), which covers the
  // service's restart on the same port (well under a second here).
  ChaosChain chain({.name = "chaos-crash",
                    .bootstrap = bootstrap,
                    .partitions = 4,
                    .more_properties = {{"reconnect.backoff.max.ms", "500"}},
                    .retry = zb::test::ChainRetry{
                        .max_attempts = 8, .initial_backoff_ms = 100, .max_backoff_ms = 1000}});
  HostGroup& hosts = chain.hosts();
  hosts.start(0);
  chain.writeLoad(bootstrap);

  REQUIRE_MESSAGE(chain.awaitAnswered(chain.load().count / 10u), hosts.outputs());
  const size_t answered_at_broker_kill = chain.replies().answered();
  const auto broker_killed = std::chrono::steady_clock::now();
  broker.kill();
  broker.start();
  const double broker_down_seconds = secondsSince(broker_killed);
  CHECK_MESSAGE(hosts.running(0), hosts.outputs());

  // Later: once another 20 % of the load is answered with the broker back.
  REQUIRE_MESSAGE(chain.awaitAnswered(answered_at_broker_kill + chain.load().count / 5u),
                  hosts.outputs());
  const size_t answered_at_service_kill = chain.replies().answered();
  const double service_down_seconds = chain.killEcho();

  const bool all = chain.awaitAll();
  CHECK_MESSAGE(hosts.running(0), hosts.outputs());
  const AnswerTally tally = chain.finish();
  MESSAGE("broker and service SIGKILL: "
          << tally << " max-in-flight: " << chain.maxInFlight() << "; broker killed at "
          << answered_at_broker_kill << " answered, answering again " << broker_down_seconds
          << " s later; service killed at " << answered_at_service_kill
          << " answered, listening again " << service_down_seconds << " s later; the load took "
          << chain.loadSeconds() << " s; the test " << chain.testSeconds() << " s");

  INFO(hosts.outputs());
  CHECK(all);
  CHECK(answered_at_service_kill < static_cast<size_t>(chain.load().count));
  CHECK(tally.lost == 0);
  CHECK(tally.onlyStatuses({"0", "14"}));
}
