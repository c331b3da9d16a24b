// Partitions take turns, for real: a backlog of slow requests on partition 0 of the request topic
// must not hold back the requests that arrive later on partition 1. With 4 calls at a time of
// 20 ms each, partition 0's 2 000 requests take about 10 s; partition 1's 20 must all be answered
// while most of partition 0's are still waiting (served in arrival order behind the backlog, they
// would come only after all of it).
#include "chaos/chaos.h"

#include <doctest/doctest.h>

namespace {

using namespace std::chrono_literals;

}  // namespace

TEST_CASE("a backlog on partition 0 does not hold back partition 1: its requests are answered") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  const std::string suffix = zb::test::uniqueSuffix();
  const std::string requests = "fair-requests-" + suffix;
  const std::string responses = "fair-responses-" + suffix;
  zb::kafka_test::createTopic(bootstrap, requests, 2);
  zb::kafka_test::createTopic(bootstrap, responses, 1);
  constexpr int kBacklog = 2000;
  constexpr int kLater = 20;
  zb::test::produceRequests(
      bootstrap, requests, responses,
      {.prefix = "p0-", .count = kBacklog, .echo_delay_ms = 20, .partition = 0});

  zb::test::EchoServer echo;
  const auto echo_address = echo.awaitAddress();
  REQUIRE(echo_address);
  const std::string config = zb::test::writeChainConfig(ZB_BINARY_DIR "/tests/chaos/fair-" + suffix,
                                                        {.name = "fair",
                                                         .bootstrap = bootstrap,
                                                         .requests = requests,
                                                         .responses = responses,
                                                         .authority = *echo_address,
                                                         .max_in_flight = 4});
  zb::test::ReplyCounter replies(bootstrap, responses);
  zb::test::ZillaHost host(config);
  REQUIRE_MESSAGE(host.awaitStarted(), host.output());
  // The backlog is being worked through when partition 1's requests arrive.
  REQUIRE_MESSAGE(replies.readUntil([&] { return replies.answered() >= 20; }, 60s, host),
                  host.output());
  zb::test::produceRequests(bootstrap, requests, responses,
                            {.prefix = "p1-", .count = kLater, .partition = 1});

  const auto later_answered = [&] {
    size_t count = 0;
    for (const auto& [id, answers] : replies.answers()) {
      count += id.rfind("p1-", 0) == 0 ? 1 : 0;
    }
    return count;
  };
  REQUIRE_MESSAGE(replies.readUntil([&] { return later_answered() == kLater; }, 60s, host),
                  host.output());
  const size_t backlog_answered = replies.answered() - kLater;
  MESSAGE("partition 1's " << kLater << " requests were all answered when " << backlog_answered
                           << " of partition 0's " << kBacklog << " were");
  CHECK(backlog_answered < kBacklog / 2);

  CHECK(replies.readUntil([&] { return replies.answered() == kBacklog + kLater; }, 120s, host));
  CHECK(replies.answeredMoreThanOnce() == 0);
  zb::test::checkStopsCleanly(host);
}
