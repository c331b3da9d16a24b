// echo-client: sends one gRPC request stream to the echo service the way Zilla's grpc-kafka
// does — as Kafka records on the requests topic — and prints the replies kafka-grpc produces
// on the reply-to topic.
//
// Request records: key = correlation id; headers zilla:service, zilla:method, zilla:reply-to,
// zilla:correlation-id and meta:<name> per --metadata; value = one EchoRequest (raw protobuf);
// then a tombstone with the same headers ends the request stream. Replies: records keyed by the
// correlation id, one per response message, then a tombstone with zilla:status (and
// zilla:message).
#include <echo.pb.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string requests = "echo-requests";
  std::string responses = "echo-responses";
  std::string service = "grpc.examples.echo.Echo";
  std::string method = "UnaryEcho";
  std::vector<std::string> messages;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string correlation_id;
  int timeout_ms = 30000;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: echo-client --bootstrap HOST:PORT --method METHOD [--message TEXT]...\n"
               "       [--requests TOPIC] [--responses TOPIC] [--service NAME]\n"
               "       [--metadata NAME=VALUE]... [--correlation-id ID] [--timeout-ms N]\n"
               "METHOD: UnaryEcho, ServerStreamingEcho, ClientStreamingEcho,\n"
               "        BidirectionalStreamingEcho\n"
               "Exit code: 0 when the reply ends with status 0, 1 for another status,\n"
               "           2 for usage errors, 3 when no complete reply came in time.\n");
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else if ((arg == "--bootstrap" || arg == "--requests" || arg == "--responses" ||
                arg == "--service" || arg == "--method" || arg == "--message" ||
                arg == "--metadata" || arg == "--correlation-id" || arg == "--timeout-ms") &&
               (v = value()) == nullptr) {
      std::fprintf(stderr, "echo-client: %s needs a value\n", arg.c_str());
      return false;
    }
    if (arg == "--bootstrap") {
      options.bootstrap = v;
    } else if (arg == "--requests") {
      options.requests = v;
    } else if (arg == "--responses") {
      options.responses = v;
    } else if (arg == "--service") {
      options.service = v;
    } else if (arg == "--method") {
      options.method = v;
    } else if (arg == "--message") {
      options.messages.emplace_back(v);
    } else if (arg == "--metadata") {
      const char* eq = std::strchr(v, '=');
      if (eq == nullptr) {
        std::fprintf(stderr, "echo-client: --metadata wants NAME=VALUE, got %s\n", v);
        return false;
      }
      options.metadata.emplace_back(std::string(v, eq), std::string(eq + 1));
    } else if (arg == "--correlation-id") {
      options.correlation_id = v;
    } else if (arg == "--timeout-ms") {
      options.timeout_ms = std::atoi(v);
    } else {
      std::fprintf(stderr, "echo-client: unknown argument %s\n", arg.c_str());
      return false;
    }
  }
  if (options.messages.empty()) {
    options.messages.emplace_back("Hello World");
  }
  return true;
}

std::string randomCorrelationId() {
  std::random_device device;
  std::mt19937_64 random(device());
  char text[64];
  std::snprintf(text, sizeof text, "%016llx-%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text;
}

rd_kafka_t* newClient(rd_kafka_type_t type, const Options& options, const char* group) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", options.bootstrap.c_str(), error, sizeof error);
  if (group != nullptr) {
    rd_kafka_conf_set(conf, "group.id", group, error, sizeof error);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", error, sizeof error);
  } else {
    rd_kafka_conf_set(conf, "acks", "all", error, sizeof error);
  }
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof error);
  if (client == nullptr) {
    std::fprintf(stderr, "echo-client: %s\n", error);
    std::exit(3);
  }
  return client;
}

// Assigns every partition of the responses topic from its current end, so only replies
// produced after this point are read and none of ours can be missed.
bool assignFromEnd(rd_kafka_t* consumer, const Options& options) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer, options.responses.c_str(), nullptr);
  while (std::chrono::steady_clock::now() < deadline) {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(consumer, 0, topic, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_metadata_topic_t& info = metadata->topics[0];
      if (info.err == RD_KAFKA_RESP_ERR_NO_ERROR && info.partition_cnt > 0) {
        rd_kafka_topic_partition_list_t* list =
            rd_kafka_topic_partition_list_new(info.partition_cnt);
        bool ok = true;
        for (int p = 0; p < info.partition_cnt && ok; ++p) {
          int64_t low = 0;
          int64_t high = 0;
          ok = rd_kafka_query_watermark_offsets(consumer, options.responses.c_str(),
                                                info.partitions[p].id, &low, &high,
                                                5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
          rd_kafka_topic_partition_list_add(list, options.responses.c_str(), info.partitions[p].id)
              ->offset = high;
        }
        rd_kafka_metadata_destroy(metadata);
        if (ok) {
          rd_kafka_assign(consumer, list);
        }
        rd_kafka_topic_partition_list_destroy(list);
        if (ok) {
          rd_kafka_topic_destroy(topic);
          return true;
        }
      } else {
        rd_kafka_metadata_destroy(metadata);
      }
    }
    // The topic may be created on first use; ask again.
    rd_kafka_poll(consumer, 200);
  }
  rd_kafka_topic_destroy(topic);
  return false;
}

bool produceRequests(const Options& options) {
  rd_kafka_t* producer = newClient(RD_KAFKA_PRODUCER, options, nullptr);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"zilla:service", options.service},
      {"zilla:method", options.method},
      {"zilla:reply-to", options.responses},
      {"zilla:correlation-id", options.correlation_id}};
  for (const auto& [name, value] : options.metadata) {
    headers.emplace_back("meta:" + name, value);
  }
  auto produce = [&](const std::string* payload) {
    rd_kafka_headers_t* record_headers = rd_kafka_headers_new(headers.size());
    for (const auto& [name, header_value] : headers) {
      rd_kafka_header_add(record_headers, name.data(), name.size(), header_value.data(),
                          header_value.size());
    }
    // Locals: librdkafka's RD_KAFKA_V_* macros cast their arguments without parentheses.
    void* bytes = payload != nullptr ? const_cast<char*>(payload->data()) : nullptr;
    const size_t length = payload != nullptr ? payload->size() : 0;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(options.requests.c_str()),
        RD_KAFKA_V_KEY(options.correlation_id.data(), options.correlation_id.size()),
        RD_KAFKA_V_VALUE(bytes, length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(record_headers), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(record_headers);
      std::fprintf(stderr, "echo-client: produce failed: %s\n", rd_kafka_err2str(err));
      return false;
    }
    return true;
  };
  bool ok = true;
  for (const std::string& text : options.messages) {
    grpc::examples::echo::EchoRequest request;
    request.set_message(text);
    const std::string value = request.SerializeAsString();
    ok = ok && produce(&value);
    std::printf("request  %s: %s\n", options.method.c_str(), text.c_str());
  }
  ok = ok && produce(nullptr);  // the tombstone ends the request stream
  ok = ok && rd_kafka_flush(producer, options.timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_destroy(producer);
  return ok;
}

std::string headerOf(rd_kafka_message_t* message, const char* name) {
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

// Prints the replies of our correlation id until the status tombstone; returns the exit code.
int awaitReplies(rd_kafka_t* consumer, const Options& options) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
    if (message == nullptr) {
      continue;
    }
    int result = -1;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        headerOf(message, "zilla:correlation-id") == options.correlation_id) {
      if (message->payload != nullptr) {
        grpc::examples::echo::EchoResponse response;
        if (response.ParseFromArray(message->payload, static_cast<int>(message->len))) {
          std::printf("reply    %s: %s\n", options.method.c_str(), response.message().c_str());
        } else {
          std::printf("reply    %s: <%zu bytes, not an EchoResponse>\n", options.method.c_str(),
                      message->len);
        }
      } else {
        const std::string status = headerOf(message, "zilla:status");
        const std::string text = headerOf(message, "zilla:message");
        std::printf("status   %s: %s%s%s\n", options.method.c_str(), status.c_str(),
                    text.empty() ? "" : " ", text.c_str());
        result = status == "0" ? 0 : 1;
      }
      std::fflush(stdout);
    }
    rd_kafka_message_destroy(message);
    if (result >= 0) {
      return result;
    }
  }
  std::fprintf(stderr, "echo-client: no complete reply for %s within %d ms\n",
               options.correlation_id.c_str(), options.timeout_ms);
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    usage(stderr);
    return 2;
  }
  if (options.correlation_id.empty()) {
    options.correlation_id = randomCorrelationId();
  }
  const std::string group = "echo-client-" + options.correlation_id;
  rd_kafka_t* consumer = newClient(RD_KAFKA_CONSUMER, options, group.c_str());
  rd_kafka_poll_set_consumer(consumer);
  int code = 3;
  if (!assignFromEnd(consumer, options)) {
    std::fprintf(stderr, "echo-client: cannot read topic %s at %s\n", options.responses.c_str(),
                 options.bootstrap.c_str());
  } else if (produceRequests(options)) {
    code = awaitReplies(consumer, options);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return code;
}
