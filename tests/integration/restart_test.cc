// At-least-once for the whole exchange, for real: zilla-host is killed with SIGKILL while it is
// answering a load of requests on a real Kafka broker, then started again with the same config.
// Every request must end up with a complete answer (its status tombstone on the reply topic);
// requests in flight at the kill may be answered twice, none may be lost.
#include "chain_config.h"
#include "chain_processes.h"
#include "kafka_requests.h"

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using zb::test::ZillaHost;

const std::string kBuild = ZB_BINARY_DIR;

}  // namespace

TEST_CASE("kill -9 under load, restart: every request is answered, none lost") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  const std::string suffix = zb::test::uniqueSuffix();
  const std::string requests = "restart-requests-" + suffix;
  const std::string responses = "restart-responses-" + suffix;
  const std::string dir = kBuild + "/tests/integration/restart-" + suffix;
  constexpr int kRequests = 2000;

  zb::test::EchoServer echo;
  const auto echo_address = echo.awaitAddress();
  REQUIRE(echo_address);

  // Paces the work (with max-in-flight below) so the kill lands while most is still to do.
  zb::test::produceRequests(bootstrap, requests, responses,
                            zb::test::RequestBatch{.count = kRequests, .echo_delay_ms = 20});

  const std::string config =
      zb::test::writeChainConfig(dir, {.name = "restart",
                                       .bootstrap = bootstrap,
                                       .kafka_properties = {{"session.timeout.ms", "6000"}},
                                       .requests = requests,
                                       .responses = responses,
                                       .authority = *echo_address,
                                       .max_in_flight = 16});

  zb::test::ReplyCounter replies(bootstrap, responses);
  {
    ZillaHost first(config);
    // Kill it in the middle of the work: once some answers exist, and well before all do.
    const bool some = replies.readUntil([&] { return replies.answered() >= 50; }, 120s);
    REQUIRE_MESSAGE(some, first.output());
    CHECK(first.stop(SIGKILL) == 128 + SIGKILL);
    INFO("answered before the kill: " << replies.answered());
    CHECK(replies.answered() < static_cast<size_t>(kRequests));
  }

  ZillaHost second(config);
  // Before the SIGTERM below (see awaitStarted).
  REQUIRE_MESSAGE(second.awaitStarted(), second.output());
  const bool all =
      replies.readUntil([&] { return replies.answered() == static_cast<size_t>(kRequests); }, 300s);
  INFO(second.output());
  CHECK(all);
  const size_t duplicates = replies.answeredMoreThanOnce();
  MESSAGE("requests: " << kRequests << ", answered: " << replies.answered()
                       << ", answered more than once (in flight at the kill): " << duplicates);
  CHECK(replies.answeredOnlyWith("0") == replies.answered());
  CHECK(second.stop(SIGTERM) == 0);
}
