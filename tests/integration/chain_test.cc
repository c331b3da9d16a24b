// The whole chain for real: a real Apache Kafka broker (the ctest fixture starts it and passes
// ZB_KAFKA_BOOTSTRAP), the example gRPC echo service, and zilla-host running kafka -> kafka-grpc
// -> grpc from a zilla.yaml. Requests are written by kcat in Zilla's record format; replies are
// read back by kcat.
#include "chain_config.h"
#include "chain_processes.h"
#include "child_process.h"

#include <json/json.h>
#include <librdkafka/rdkafka.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using zb::test::EchoServer;
using zb::test::runCommand;
using zb::test::ZillaHost;

const std::string kBuild = ZB_BINARY_DIR;
const std::string kService = "grpc.examples.echo.Echo";

// A reply record as kcat -J shows it.
struct Reply {
  std::string key;
  std::map<std::string, std::string> headers;
  bool null_payload = false;
  std::string payload;
};

// The bridge under test, shared by the test cases of this file.
class Chain {
 public:
  static Chain& get() {
    static Chain chain;
    return chain;
  }

  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& requests() const { return requests_; }
  const std::string& responses() const { return responses_; }
  const std::string& group() const { return group_; }
  bool ready() const { return ready_; }
  std::string hostOutput() const { return host_ ? host_->output() : ""; }

  // Writes one request stream as kcat would: one record per message, then a tombstone.
  void send(const std::string& correlation_id, const std::string& method,
            const std::vector<std::string>& messages,
            const std::vector<std::pair<std::string, std::string>>& extra_headers = {},
            bool with_method = true) {
    std::vector<std::string> base = {"kcat", "-P",      "-b", bootstrap_,
                                     "-t",   requests_, "-k", correlation_id};
    auto header = [&](const std::string& name, const std::string& value) {
      base.push_back("-H");
      base.push_back(name + "=" + value);
    };
    header("zilla:service", kService);
    if (with_method) {
      header("zilla:method", method);
    }
    header("zilla:reply-to", responses_);
    header("zilla:correlation-id", correlation_id);
    for (const auto& [name, value] : extra_headers) {
      header(name, value);
    }
    std::vector<std::string> produce = base;
    for (size_t i = 0; i < messages.size(); ++i) {
      // One file per message: kcat sends each file as one record. Value = EchoRequest{message}.
      const std::string path = dir_ + "/" + correlation_id + "-" + std::to_string(i) + ".bin";
      std::ofstream file(path, std::ios::binary);
      file << '\x0a' << static_cast<char>(messages[i].size()) << messages[i];
      file.close();
      produce.push_back(path);
    }
    if (!messages.empty()) {
      auto [status, out] = runCommand(produce);
      REQUIRE_MESSAGE(status == 0, out);
    }
    // The tombstone ends the request stream: "<key>:" with -K: is a record with an empty value,
    // which -Z sends as NULL (kcat skips plain empty lines).
    const std::string line = dir_ + "/" + correlation_id + "-tombstone";
    std::ofstream(line) << correlation_id << ":\n";
    std::vector<std::string> tombstone = base;
    tombstone.erase(tombstone.begin() + 6, tombstone.begin() + 8);  // the -k option
    tombstone.insert(tombstone.begin() + 2, {"-Z", "-K:"});
    tombstone.insert(tombstone.end(), {"-l", line});
    auto [status, out] = runCommand(tombstone);
    REQUIRE_MESSAGE(status == 0, out);
  }

  // Reads the reply topic with kcat until the status tombstone of `correlation_id` appears.
  std::vector<Reply> awaitReplies(const std::string& correlation_id,
                                  std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto [status, out] = runCommand(
          {"kcat", "-C", "-b", bootstrap_, "-t", responses_, "-o", "beginning", "-e", "-q", "-J"});
      std::vector<Reply> replies;
      bool complete = false;
      size_t start = 0;
      while (start < out.size()) {
        size_t end = out.find('\n', start);
        if (end == std::string::npos) {
          end = out.size();
        }
        Json::Value record;
        Json::CharReaderBuilder builder;
        std::string errors;
        std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
        const std::string line = out.substr(start, end - start);
        start = end + 1;
        if (!reader->parse(line.data(), line.data() + line.size(), &record, &errors) ||
            !record.isObject()) {
          continue;
        }
        Reply reply;
        reply.key = record["key"].isString() ? record["key"].asString() : "";
        const Json::Value& headers = record["headers"];
        for (Json::ArrayIndex i = 0; headers.isArray() && i + 1 < headers.size(); i += 2) {
          reply.headers[headers[i].asString()] =
              headers[i + 1].isString() ? headers[i + 1].asString() : "";
        }
        if (reply.headers["zilla:correlation-id"] != correlation_id) {
          continue;
        }
        reply.null_payload = record["payload"].isNull();
        reply.payload = reply.null_payload ? "" : record["payload"].asString();
        replies.push_back(reply);
        if (reply.null_payload) {
          complete = true;
        }
      }
      if (complete) {
        return replies;
      }
    }
    FAIL("no status tombstone for " << correlation_id << "; zilla-host said:\n" << hostOutput());
    return {};
  }

  // The group's committed offset of partition 0 of the requests topic (-1001: none).
  int64_t committedOffset() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", group_.c_str(), error, sizeof error);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, requests_.c_str(), 0);
    int64_t offset = -1;
    if (rd_kafka_committed(consumer, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      offset = list->elems[0].offset;
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(consumer);
    return offset;
  }

  // The end offset of partition 0 of the requests topic.
  int64_t endOffset() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), error, sizeof error);
    rd_kafka_t* client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    int64_t low = 0;
    int64_t high = -1;
    rd_kafka_query_watermark_offsets(client, requests_.c_str(), 0, &low, &high, 10000);
    rd_kafka_destroy(client);
    return high;
  }

 private:
  Chain() {
    const char* bootstrap = std::getenv("ZB_KAFKA_BOOTSTRAP");
    if (bootstrap == nullptr || *bootstrap == '\0') {
      return;
    }
    bootstrap_ = bootstrap;
    const std::string suffix = zb::test::uniqueSuffix();
    requests_ = "chain-requests-" + suffix;
    responses_ = "chain-responses-" + suffix;
    dir_ = kBuild + "/tests/integration/chain-" + suffix;
    runCommand({"/bin/mkdir", "-p", dir_});
    // Both topics exist before anything reads them: one partition keeps offsets easy to check.
    for (const std::string& topic : {requests_, responses_}) {
      runCommand({"/bin/sh", "-c",
                  "printf 'warmup\\n' | kcat -P -b " + bootstrap_ + " -t " + topic + " -p 0"});
    }

    echo_ = std::make_unique<EchoServer>();
    const auto echo_address = echo_->awaitAddress();
    if (!echo_address) {
      return;
    }
    // The broker's address comes from the environment, as in a deployment's zilla.yaml.
    const std::string config =
        zb::test::writeChainConfig(dir_, {.name = "chain",
                                          .bootstrap = "${{env.KAFKA_BOOTSTRAP_SERVER}}",
                                          .requests = requests_,
                                          .responses = responses_,
                                          .authority = *echo_address,
                                          .acks = "leader_only"});
    host_ = std::make_unique<ZillaHost>(
        config, std::vector<std::string>{"KAFKA_BOOTSTRAP_SERVER=" + bootstrap_});
    group_ = "zilla:chain-kafka_grpc0";
    ready_ = host_->running();
  }

  ~Chain() {
    if (host_) {
      host_->stop(SIGTERM);
    }
  }

  std::string bootstrap_;
  std::string requests_;
  std::string responses_;
  std::string group_;
  std::string dir_;
  std::unique_ptr<EchoServer> echo_;
  std::unique_ptr<ZillaHost> host_;
  bool ready_ = false;
};

size_t dataReplies(const std::vector<Reply>& replies) {
  size_t count = 0;
  for (const Reply& reply : replies) {
    count += reply.null_payload ? 0 : 1;
  }
  return count;
}

}  // namespace

TEST_CASE("unary: one reply with the echoed message, then status 0, keyed by correlation id") {
  Chain& chain = Chain::get();
  REQUIRE_MESSAGE(chain.ready(),
                  "needs ZB_KAFKA_BOOTSTRAP (the kafka_broker fixture), "
                  "echo-server and zilla-host");
  chain.send("unary-1", "UnaryEcho", {"Hello World"}, {{"meta:idempotency-key", "unary-1"}});
  const auto replies = chain.awaitReplies("unary-1");
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].key == "unary-1");
  CHECK(replies[0].payload.find("Hello World") != std::string::npos);
  CHECK(replies[1].null_payload);
  CHECK(replies[1].headers.at("zilla:status") == "0");
}

TEST_CASE("server streaming: every response message becomes a reply record") {
  Chain& chain = Chain::get();
  REQUIRE(chain.ready());
  chain.send("server-1", "ServerStreamingEcho", {"stream me"});
  const auto replies = chain.awaitReplies("server-1");
  CHECK(dataReplies(replies) == 10);
  CHECK(replies.back().headers.at("zilla:status") == "0");
}

TEST_CASE("client streaming and bidi: several request records form one call") {
  Chain& chain = Chain::get();
  REQUIRE(chain.ready());
  chain.send("client-1", "ClientStreamingEcho", {"one", "two", "three"});
  chain.send("bidi-1", "BidirectionalStreamingEcho", {"ping 1", "ping 2"});
  const auto client = chain.awaitReplies("client-1");
  CHECK(dataReplies(client) == 1);
  CHECK(client.back().headers.at("zilla:status") == "0");
  const auto bidi = chain.awaitReplies("bidi-1");
  CHECK(dataReplies(bidi) == 2);
  CHECK(bidi.back().headers.at("zilla:status") == "0");
}

TEST_CASE("an error status from the service is the reply's status, with its message") {
  Chain& chain = Chain::get();
  REQUIRE(chain.ready());
  chain.send("error-1", "UnaryEcho", {"fail please"}, {{"meta:echo-status", "5"}});
  const auto replies = chain.awaitReplies("error-1");
  REQUIRE_FALSE(replies.empty());
  CHECK(replies.back().null_payload);
  CHECK(replies.back().headers.at("zilla:status") == "5");
  CHECK(replies.back().headers.count("zilla:message") == 1);
}

TEST_CASE("a request without a method header is answered with status 13") {
  Chain& chain = Chain::get();
  REQUIRE(chain.ready());
  chain.send("nomethod-1", "", {"lost"}, {}, /*with_method=*/false);
  const auto replies = chain.awaitReplies("nomethod-1");
  REQUIRE_FALSE(replies.empty());
  CHECK(replies.back().headers.at("zilla:status") == "13");
}

TEST_CASE("offsets are committed up to the end once every request is answered") {
  Chain& chain = Chain::get();
  REQUIRE(chain.ready());
  chain.send("commit-1", "UnaryEcho", {"last one"});
  chain.awaitReplies("commit-1");
  const int64_t end = chain.endOffset();
  REQUIRE(end > 0);
  // Commits follow the acknowledged reply asynchronously: wait for them, bounded.
  int64_t committed = -1;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((committed = chain.committedOffset()) != end &&
         std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(committed == end);
}
