// At-least-once for the whole exchange, for real: zilla-host is killed with SIGKILL while it is
// answering a load of requests on a real Kafka broker, then started again with the same config.
// Every request must end up with a complete answer (its status tombstone on the reply topic);
// requests in flight at the kill may be answered twice, none may be lost.
#include "child_process.h"

#include <librdkafka/rdkafka.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using zb::test::ChildProcess;
using zb::test::runCommand;

const std::string kBuild = ZB_BINARY_DIR;

rd_kafka_t* newClient(rd_kafka_type_t type, const std::string& bootstrap,
                      const std::string& group = "") {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  if (!group.empty()) {
    rd_kafka_conf_set(conf, "group.id", group.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", error, sizeof error);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
  }
  return rd_kafka_new(type, conf, error, sizeof error);
}

std::string header(rd_kafka_message_t* message, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      value != nullptr) {
    return std::string(static_cast<const char*>(value), size);
  }
  return "";
}

// Produces `count` unary requests (record + tombstone each) in Zilla's format.
void produceRequests(const std::string& bootstrap, const std::string& topic,
                     const std::string& reply_to, int count) {
  rd_kafka_t* producer = newClient(RD_KAFKA_PRODUCER, bootstrap);
  REQUIRE(producer != nullptr);
  for (int i = 0; i < count; ++i) {
    const std::string id = "req-" + std::to_string(i);
    const std::string value = std::string("\x0a\x05") + "hello";
    for (int record = 0; record < 2; ++record) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(5);
      rd_kafka_header_add(headers, "zilla:service", -1, "grpc.examples.echo.Echo", -1);
      rd_kafka_header_add(headers, "zilla:method", -1, "UnaryEcho", -1);
      rd_kafka_header_add(headers, "zilla:reply-to", -1, reply_to.c_str(), -1);
      rd_kafka_header_add(headers, "zilla:correlation-id", -1, id.c_str(), -1);
      // Paces the work (with max-in-flight below) so the kill lands while most is still to do.
      rd_kafka_header_add(headers, "meta:echo-delay-ms", -1, "20", -1);
      void* bytes = record == 0 ? const_cast<char*>(value.data()) : nullptr;
      const size_t length = record == 0 ? value.size() : 0;
      REQUIRE(rd_kafka_producev(
                  producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(id.data(), id.size()),
                  RD_KAFKA_V_VALUE(bytes, length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                  RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END) == 0);
      rd_kafka_poll(producer, 0);
    }
  }
  REQUIRE(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

// Reads the reply topic from the start, counting status tombstones per correlation id.
class ReplyCounter {
 public:
  ReplyCounter(const std::string& bootstrap, const std::string& topic)
      : consumer_(newClient(RD_KAFKA_CONSUMER, bootstrap, "restart-test-reader-" + topic)) {
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
  }
  ~ReplyCounter() {
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }

  // Reads until `done()` or the deadline.
  template <typename Done>
  bool readUntil(Done done, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 200);
      if (message == nullptr) {
        continue;
      }
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->payload == nullptr) {
        const std::string id = header(message, "zilla:correlation-id");
        answers_[id] += 1;
        statuses_[id] = header(message, "zilla:status");
      }
      rd_kafka_message_destroy(message);
    }
    return done();
  }

  size_t answered() const { return answers_.size(); }
  const std::map<std::string, int>& answers() const { return answers_; }
  const std::map<std::string, std::string>& statuses() const { return statuses_; }

 private:
  rd_kafka_t* consumer_;
  std::map<std::string, int> answers_;
  std::map<std::string, std::string> statuses_;
};

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

  produceRequests(bootstrap, requests, responses, kRequests);

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
  size_t duplicates = 0;
  size_t not_ok = 0;
  for (const auto& [id, count] : replies.answers()) {
    duplicates += count > 1 ? 1 : 0;
  }
  for (const auto& [id, status] : replies.statuses()) {
    not_ok += status == "0" ? 0 : 1;
  }
  MESSAGE("requests: " << kRequests << ", answered: " << replies.answered()
                       << ", answered more than once (in flight at the kill): " << duplicates);
  CHECK(not_ok == 0);
  CHECK(second.stop(SIGTERM) == 0);
}
