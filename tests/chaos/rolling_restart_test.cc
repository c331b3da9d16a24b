// A rolling restart under load: three zilla-host processes share one consumer group on an
// 8-partition request topic; while they answer ZB_CHAOS_REQUESTS unary requests (50-500 ms
// each), each host in turn is stopped with SIGTERM (it must exit 0), started again and waited
// for until it owns partitions again. A graceful stop drains its calls and a rebalance hands
// over only what is done, so no request may be lost, none answered twice, every status 0.
#include "chaos/chaos.h"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace zb::chaos;

constexpr int kHosts = 3;

}  // namespace

TEST_CASE("rolling restart of 3 hosts under load: none lost, none answered twice, all status 0") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  ChaosChain chain({.name = "chaos-rolling",
                    .bootstrap = bootstrap,
                    .partitions = 8,
                    .paced_hosts = kHosts,
                    .slots = kHosts});
  HostGroup& hosts = chain.hosts();
  // All three own partitions before the work starts: what follows is the restarts' doing alone.
  for (size_t slot = 0; slot < kHosts; ++slot) {
    hosts.start(slot);
  }
  chain.writeLoad(bootstrap);

  REQUIRE_MESSAGE(chain.awaitAnswered(chain.load().count / 20u), hosts.outputs());
  std::ostringstream restarts;
  for (size_t slot = 0; slot < kHosts; ++slot) {
    const auto stopping = std::chrono::steady_clock::now();
    const int status = hosts.stop(slot, SIGTERM);
    CHECK_MESSAGE(status == 0, "host " << slot << " exited " << status << ":\n" << hosts.outputs());
    const double stop_seconds = secondsSince(stopping);
    const auto starting = std::chrono::steady_clock::now();
    hosts.start(slot);
    restarts << " host " << slot << ": stopped in " << stop_seconds
             << " s, started and assigned in " << secondsSince(starting) << " s ("
             << chain.replies().answered() << " answered);";
  }
  const size_t answered_after_restarts = chain.replies().answered();

  const bool all = chain.awaitAll();
  const AnswerTally tally = chain.finish();
  MESSAGE("rolling restart: " << tally << " max-in-flight: " << chain.maxInFlight() << "; restarts:"
                              << restarts.str() << " answered when the last restart was done: "
                              << answered_after_restarts << "; the load took "
                              << chain.loadSeconds() << " s; the test " << chain.testSeconds()
                              << " s");

  INFO(hosts.outputs());
  CHECK(all);
  // The restarts landed while work was left, or they proved nothing.
  CHECK(answered_after_restarts < static_cast<size_t>(chain.load().count));
  CHECK(tally.lost == 0);
  CHECK(tally.answered_twice == 0);
  CHECK(tally.onlyStatuses({"0"}));
}
