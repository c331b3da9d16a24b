// A Kafka broker restart under load, for real: the test runs a broker of its own
// (scripts/kafka/broker.sh, a KRaft node on a free port), stops it while zilla-host is answering
// a load of requests, and starts it again on the same port and data dir. Nothing is restarted on
// the zilla-host side: its Kafka clients must find the broker again by themselves. Every request
// must end with a status-0 tombstone (calls in flight at the stop may be answered twice), and
// requests written after the restart prove that consumption resumed.
#include "child_process.h"
#include "kafka_requests.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using zb::test::ChildProcess;
using zb::test::ReplyCounter;
using zb::test::RequestBatch;

const std::string kBuild = ZB_BINARY_DIR;

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A broker of this test's own (not the shared fixture, which other tests use meanwhile), on a
// fixed port and data dir so a restart is the same broker; stopped when the test ends whatever
// happens.
class OwnBroker {
 public:
  OwnBroker() : port_(freePort()), dir_(kBuild + "/tests/integration/broker-restart-" + suffix()) {}
  ~OwnBroker() {
    run("stop " + dir_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  // broker.sh start returns once the broker answers a metadata request.
  void start() { REQUIRE(run("start " + dir_ + " " + std::to_string(port_)) == 0); }
  // A clean stop (SIGTERM, then the script waits for the JVM to exit).
  void stop() { REQUIRE(run("stop " + dir_) == 0); }

 private:
  static std::string suffix() {
    std::random_device device;
    return std::to_string(::getpid()) + "-" + std::to_string(device() % 1000000u);
  }
  static int run(const std::string& args) {
    return std::system((ZB_SOURCE_DIR "/scripts/kafka/broker.sh " + args + " >&2").c_str());
  }
  int port_;
  std::string dir_;
};

}  // namespace

TEST_CASE("Kafka broker restart under load: no request lost, consumption resumes by itself") {
  OwnBroker broker;
  broker.start();
  const std::string bootstrap = broker.bootstrap();
  std::random_device device;
  const std::string suffix = std::to_string(device() % 1000000000u);
  const std::string requests = "broker-restart-requests-" + suffix;
  const std::string responses = "broker-restart-responses-" + suffix;
  const std::string dir = kBuild + "/tests/integration/broker-restart-host-" + suffix;
  std::filesystem::create_directories(dir);

  // 500 calls of 100 ms, 8 at a time: about 6 s of work, so the stop (about 2 s for a clean
  // shutdown) lands with most of it still to do.
  constexpr int kMaxInFlight = 8;
  const RequestBatch before{.prefix = "before-", .count = 500, .echo_delay_ms = 100};
  const RequestBatch after{.prefix = "after-", .count = 50};
  const size_t total = static_cast<size_t>(before.count + after.count);
  zb::test::produceRequests(bootstrap, requests, responses, before);

  ChildProcess echo({kBuild + "/examples/echo/echo-server", "--port", "0"});
  const auto echo_address = echo.awaitLine("(127\\.0\\.0\\.1:[0-9]+)", 30s);
  REQUIRE(echo_address);

  // The kafka binding with librdkafka's defaults: reconnecting is its job, not a tuned option's.
  const std::string config = dir + "/zilla.yaml";
  std::ofstream(config) << "name: broker-restart\n"
                           "bindings:\n"
                           "  kafka_client0:\n"
                           "    type: kafka\n"
                           "    kind: client\n"
                           "    options:\n"
                           "      servers: [\""
                        << bootstrap
                        << "\"]\n"
                           "  kafka_grpc0:\n"
                           "    type: kafka-grpc\n"
                           "    kind: remote_server\n"
                           "    entry: kafka_client0\n"
                           "    options:\n"
                           "      acks: in_sync_replicas\n"
                           "      max-in-flight: "
                        << kMaxInFlight
                        << "\n"
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

  ReplyCounter replies(bootstrap, responses);
  ChildProcess host(
      {kBuild + "/runtime/host/zilla-host", "start", "-c", config, "--log-format", "text"});
  // Signals are only watched once it has started: wait for that before any SIGTERM below.
  REQUIRE_MESSAGE(host.awaitLine("started [0-9]+ bindings", 60s), host.output());

  const bool some = replies.readUntil(
      [&] {
        host.drain();
        return replies.answered() >= 50;
      },
      120s);
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

  const bool all = replies.readUntil(
      [&] {
        host.drain();
        return replies.answered() == total;
      },
      180s);
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
  CHECK(host.stop(SIGTERM) == 0);
  const std::string report = host.sanitizerReport();
  if (!report.empty()) {
    MESSAGE("zilla-host's sanitizer report:\n" << report);
  }
}
