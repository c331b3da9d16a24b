// At-least-once for the whole exchange, for real: zilla-host is killed with SIGKILL while it is
// answering a load of requests on a real Kafka broker, then started again with the same config.
// Every request must end up with a complete answer (its status tombstone on the reply topic);
// requests in flight at the kill may be answered twice, none may be lost.
#include "child_process.h"
#include "kafka_requests.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using zb::test::ChildProcess;
using zb::test::ReplyCounter;
using zb::test::RequestBatch;
using zb::test::runCommand;

const std::string kBuild = ZB_BINARY_DIR;

}  // namespace

TEST_CASE("kill -9 under load, restart: every request is answered, none lost") {
  const char* bootstrap_env = std::getenv("ZB_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(bootstrap_env != nullptr, "needs ZB_KAFKA_BOOTSTRAP (the kafka_broker fixture)");
  const std::string bootstrap = bootstrap_env;
  std::random_device device;
  const std::string suffix = std::to_string(device() % 1000000000u);
  const std::string requests = "restart-requests-" + suffix;
  const std::string responses = "restart-responses-" + suffix;
  const std::string dir = kBuild + "/tests/integration/restart-" + suffix;
  runCommand({"mkdir", "-p", dir});
  constexpr int kRequests = 2000;

  ChildProcess echo({kBuild + "/examples/echo/echo-server", "--port", "0"});
  const auto echo_address = echo.awaitLine("(127\\.0\\.0\\.1:[0-9]+)", 30s);
  REQUIRE(echo_address);

  // Paces the work (with max-in-flight below) so the kill lands while most is still to do.
  zb::test::produceRequests(bootstrap, requests, responses,
                            RequestBatch{.count = kRequests, .echo_delay_ms = 20});

  const std::string config = dir + "/zilla.yaml";
  std::ofstream(config) << "name: restart\n"
                           "bindings:\n"
                           "  kafka_client0:\n"
                           "    type: kafka\n"
                           "    kind: client\n"
                           "    options:\n"
                           "      servers: [\""
                        << bootstrap
                        << "\"]\n"
                           "      properties:\n"
                           "        session.timeout.ms: \"6000\"\n"
                           "  kafka_grpc0:\n"
                           "    type: kafka-grpc\n"
                           "    kind: remote_server\n"
                           "    entry: kafka_client0\n"
                           "    options:\n"
                           "      acks: in_sync_replicas\n"
                           "      max-in-flight: 16\n"
                           "    routes:\n"
                           "      - exit: grpc_client0\n"
                           "        when:\n"
                           "          - topic: "
                        << requests << "\n            reply-to: " << responses
                        << "\n"
                           "        with:\n"
                           "          scheme: http\n"
                           "          authority: "
                        << *echo_address
                        << "\n"
                           "  grpc_client0:\n"
                           "    type: grpc\n"
                           "    kind: client\n";
  const std::vector<std::string> start = {
      kBuild + "/runtime/host/zilla-host", "start", "-c", config, "--log-format", "text"};

  ReplyCounter replies(bootstrap, responses);
  {
    ChildProcess first(start);
    // Kill it in the middle of the work: once some answers exist, and well before all do.
    const bool some = replies.readUntil([&] { return replies.answered() >= 50; }, 120s);
    REQUIRE_MESSAGE(some, first.output());
    CHECK(first.stop(SIGKILL) == 128 + SIGKILL);
    INFO("answered before the kill: " << replies.answered());
    CHECK(replies.answered() < static_cast<size_t>(kRequests));
  }

  ChildProcess second(start);
  // Signals are only watched once it has started: wait for that before the SIGTERM below.
  REQUIRE_MESSAGE(second.awaitLine("started [0-9]+ bindings", 60s), second.output());
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
