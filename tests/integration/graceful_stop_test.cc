// A graceful stop repeats nothing, on a real broker: zilla-host gets SIGTERM while a unary call
// waits 4 s on its service. The call is finished and answered, its request committed, and the
// host exits 0; the next host started with the same config does not call the service for it
// again. SIGHUP, meanwhile, reloads the config and stops nothing.
#include "chain_config.h"
#include "chain_processes.h"
#include "kafka_requests.h"

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using zb::test::ZillaHost;

const std::string kBuild = ZB_BINARY_DIR;

// Waits until the service has seen `count` request messages (it writes each one as it gets it).
bool awaitMessages(const std::string& record, size_t count, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (zb::test::recordedMessages(record) < count) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);  // polls a file the service appends to
  }
  return true;
}

}  // namespace

TEST_CASE("SIGTERM while a call waits on its service: answered, committed, never called again") {
  const std::string bootstrap = zb::test::fixtureBootstrap();
  const std::string suffix = zb::test::uniqueSuffix();
  const std::string requests = "stop-requests-" + suffix;
  const std::string responses = "stop-responses-" + suffix;
  const std::string dir = kBuild + "/tests/integration/stop-" + suffix;
  std::filesystem::create_directories(dir);
  const std::string record = dir + "/service.record";
  zb::test::EchoServer echo(0, record);
  const auto echo_address = echo.awaitAddress();
  REQUIRE(echo_address);
  const std::string config = zb::test::writeChainConfig(dir, {.name = "stop",
                                                              .bootstrap = bootstrap,
                                                              .requests = requests,
                                                              .responses = responses,
                                                              .authority = *echo_address,
                                                              .max_in_flight = 4});
  zb::test::ReplyCounter replies(bootstrap, responses);

  {
    ZillaHost first(config);
    REQUIRE_MESSAGE(first.awaitStarted(), first.output());
    zb::test::produceRequests(bootstrap, requests, responses,
                              {.prefix = "slow-", .count = 1, .echo_delay_ms = 4000});
    // The call is at the service (which answers 4 s later) when the stop comes.
    REQUIRE_MESSAGE(awaitMessages(record, 1, 60s), first.output());
    const auto stopped = std::chrono::steady_clock::now();
    CHECK(first.stop(SIGTERM) == 0);
    const auto took = std::chrono::steady_clock::now() - stopped;
    INFO(first.output());
    MESSAGE(
        "the host exited " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                           << " ms after SIGTERM");
    CHECK(first.output().find("1 call(s) at their service finish") != std::string::npos);
    CHECK(first.output().find("unfinished") == std::string::npos);
    // Answered before the host was gone.
    CHECK(replies.readUntil([&] { return replies.answered() == 1; }, 30s));
    CHECK(replies.answeredOnlyWith("0") == 1);
  }

  ZillaHost second(config);
  REQUIRE_MESSAGE(second.awaitStarted(), second.output());
  // A request written after the stop: the second host reaches it only after every earlier record
  // of the partition, so had the first request been left uncommitted it would be called again
  // before this one is answered.
  zb::test::produceRequests(bootstrap, requests, responses, {.prefix = "after-", .count = 1});
  REQUIRE_MESSAGE(replies.readUntil([&] { return replies.answered() == 2; }, 60s, second),
                  second.output());
  CHECK(zb::test::recordedMessages(record) == 2);
  CHECK(replies.answeredMoreThanOnce() == 0);

  // SIGHUP reloads the config (the same file: nothing to change) and stops nothing.
  kill(second.pid(), SIGHUP);
  CHECK(second.awaitLine("reload \\(SIGHUP\\): no binding changed", 30s).has_value());
  zb::test::produceRequests(bootstrap, requests, responses, {.prefix = "hup-", .count = 1});
  CHECK(replies.readUntil([&] { return replies.answered() == 3; }, 60s, second));
  zb::test::checkStopsCleanly(second);
}
