// Hosts join and leave under load: one zilla-host answers ZB_CHAOS_REQUESTS unary requests
// (50-500 ms each) from an 8-partition topic; a second and then a third host join its consumer
// group (each waited for until it owns partitions), then the third and then the second leave
// with SIGTERM, each change after another 10 % of the load is answered. No request may be lost;
// the repeats are counted and bounded.
#include "chaos/chaos.h"

#include <doctest/doctest.h>

#include <sstream>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace zb::chaos;

}  // namespace

TEST_CASE("hosts join and leave under load: none lost, repeats bounded by the calls in flight") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  // Up to 3 hosts at once, 1 at the start and the end: the load is paced as for 2.
  ChaosChain chain({.name = "chaos-joins",
                    .bootstrap = bootstrap,
                    .partitions = 8,
                    .paced_hosts = 2,
                    .slots = 3});
  HostGroup& hosts = chain.hosts();
  hosts.start(0);
  chain.writeLoad(bootstrap);

  // 1 -> 2 -> 3 -> 2 -> 1 hosts, a change each time another 10 % of the load is answered.
  std::ostringstream changes;
  size_t step = 0;
  const auto afterMoreAnswers = [&] {
    REQUIRE_MESSAGE(chain.awaitAnswered(chain.load().count * ++step / 10), hosts.outputs());
    return std::chrono::steady_clock::now();
  };
  for (size_t slot : {1, 2}) {
    const auto joining = afterMoreAnswers();
    hosts.start(slot);
    changes << " host " << slot << " joined in " << secondsSince(joining) << " s ("
            << chain.replies().answered() << " answered);";
  }
  for (size_t slot : {2, 1}) {
    const auto leaving = afterMoreAnswers();
    const int status = hosts.stop(slot, SIGTERM);
    CHECK_MESSAGE(status == 0, "host " << slot << " exited " << status << ":\n" << hosts.outputs());
    changes << " host " << slot << " left in " << secondsSince(leaving) << " s ("
            << chain.replies().answered() << " answered);";
  }
  const size_t answered_after_changes = chain.replies().answered();

  const bool all = chain.awaitAll();
  const AnswerTally tally = chain.finish();
  // What a membership change may repeat: only calls already started on a partition that moves
  // (the old host finishes them while the new owner, resuming from the last commit, calls them
  // again). A host has at most max-in-flight calls started, and a change moves about one host's
  // share of the partitions (a joiner takes 1/n of them, a leaver hands over its own), so about
  // max-in-flight calls per change. Records whose call had not started before their partition
  // moved must never be repeated: held in a fetch window, they are what breaks this bound.
  constexpr size_t kChanges = 4;
  const size_t bound = kChanges * static_cast<size_t>(chain.maxInFlight());
  MESSAGE("joins and leaves: " << tally << " max-in-flight: " << chain.maxInFlight()
                               << ", repeats allowed: " << bound << " (" << kChanges
                               << " membership changes x max-in-flight); changes:" << changes.str()
                               << " answered when the last change was done: "
                               << answered_after_changes << "; the load took "
                               << chain.loadSeconds() << " s; the test " << chain.testSeconds()
                               << " s");

  INFO(hosts.outputs());
  CHECK(all);
  CHECK(answered_after_changes < static_cast<size_t>(chain.load().count));
  CHECK(tally.lost == 0);
  CHECK(tally.answered_twice <= bound);
  CHECK(tally.onlyStatuses({"0"}));
}
