// kill -9, again and again: one zilla-host answers ZB_CHAOS_REQUESTS unary requests (50-500 ms
// each) and is killed with SIGKILL each time another 15 % of them is answered, four times,
// and started again with the same config each time. At-least-once must hold across every
// crash: no request lost; the repeats are bounded by what a crash can leave undone.
// (tests/integration/restart_test.cc is the single-kill version of this.)
#include "chaos/chaos.h"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace zb::chaos;

constexpr int kKills = 4;

}  // namespace

TEST_CASE("kill -9 four times under load: none lost, repeats bounded by the work in flight") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  ChaosChain chain({.name = "chaos-kill", .bootstrap = bootstrap, .partitions = 4});
  HostGroup& hosts = chain.hosts();
  hosts.start(0);
  chain.writeLoad(bootstrap);

  std::ostringstream kills;
  for (int kill = 1; kill <= kKills; ++kill) {
    REQUIRE_MESSAGE(chain.awaitAnswered(chain.load().count * 15u * kill / 100), hosts.outputs());
    CHECK(hosts.stop(0, SIGKILL) == 128 + SIGKILL);
    kills << " kill " << kill << " at " << chain.replies().answered() << " answered;";
    // Started again at once, as a supervisor would. A killed member leaves no word: the new
    // host's join waits for the dead one's session (6 s) to expire.
    hosts.start(0, /*await_assigned=*/false);
  }
  const size_t answered_after_kills = chain.replies().answered();

  const bool all = chain.awaitAll();
  const AnswerTally tally = chain.finish();
  // What a crash may leave to be done again: the calls in flight (at most max-in-flight) and the
  // answers already durable whose offsets were not committed yet (commits follow the answers, so
  // at most about another max-in-flight of them).
  const size_t bound = static_cast<size_t>(kKills) * chain.maxInFlight() * 2;
  MESSAGE("kill -9 x " << kKills << ": " << tally << " max-in-flight: " << chain.maxInFlight()
                       << ", repeats allowed: " << bound
                       << " (kills x max-in-flight x 2); kills:" << kills.str()
                       << " answered when the last kill was done: " << answered_after_kills
                       << "; the load took " << chain.loadSeconds() << " s; the test "
                       << chain.testSeconds() << " s");

  INFO(hosts.outputs());
  CHECK(all);
  CHECK(answered_after_kills < static_cast<size_t>(chain.load().count));
  CHECK(tally.lost == 0);
  CHECK(tally.answered_twice <= bound);
  CHECK(tally.onlyStatuses({"0"}));
}
