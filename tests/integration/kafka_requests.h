// Requests in Zilla's record format written with librdkafka, and a reader that counts their
// answers (status tombstones) on the reply topic: the load and the verdict of the fault tests.
#pragma once

#include "child_process.h"

#include <librdkafka/rdkafka.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace zb::test {

// The shared broker's address, which the kafka_broker fixture passes to the tests that require it.
inline std::string fixtureBootstrap() {
  const char* bootstrap = std::getenv("ZB_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(bootstrap != nullptr, "needs ZB_KAFKA_BOOTSTRAP (the kafka_broker fixture)");
  return bootstrap;
}

inline rd_kafka_t* newKafkaClient(rd_kafka_type_t type, const std::string& bootstrap,
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

inline std::string headerOf(rd_kafka_message_t* message, const char* name) {
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

// The value of a request record: EchoRequest{message: `message`} as protobuf (field 1, length
// delimited, the length a varint).
inline std::string echoRequest(const std::string& message) {
  std::string value = "\x0a";
  for (size_t length = message.size(); true; length >>= 7) {
    if (length < 0x80) {
      value += static_cast<char>(length);
      break;
    }
    value += static_cast<char>((length & 0x7f) | 0x80);
  }
  return value + message;
}

// The message of an EchoResponse (the same shape as EchoRequest) from a reply record's value; the
// value itself if it is not one.
inline std::string echoMessage(const std::string& value) {
  size_t length = 0;
  size_t at = 1;
  for (int shift = 0; at < value.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(value[at++]);
    length |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      break;
    }
  }
  return value.starts_with('\x0a') && at + length == value.size() ? value.substr(at, length)
                                                                  : value;
}

// A batch of unary UnaryEcho requests: correlation ids `<prefix><first>` .. `<prefix><first +
// count - 1>`, each a record and a tombstone with that key.
struct RequestBatch {
  std::string prefix = "req-";
  int first = 0;
  int count = 0;
  // The echo service sleeps this long per call (metadata echo-delay-ms): with a bound on calls
  // in flight it paces the work, so a fault injected "during the load" lands while work is left.
  int echo_delay_ms = 0;
  // Above echo_delay_ms: each call's delay is drawn uniformly from [echo_delay_ms, this], so
  // calls end out of order, as real ones do. The draws repeat from run to run (`seed`).
  int echo_delay_max_ms = 0;
  unsigned seed = 1;
  // The partition every record goes to; -1: by key (the correlation id).
  int32_t partition = -1;
};

inline std::string requestId(const RequestBatch& batch, int i) {
  return batch.prefix + std::to_string(batch.first + i);
}

// Each request's echo-delay-ms, in order.
inline std::vector<int> requestDelays(const RequestBatch& batch) {
  std::mt19937 random(batch.seed);
  std::uniform_int_distribution<int> delays(batch.echo_delay_ms,
                                            std::max(batch.echo_delay_ms, batch.echo_delay_max_ms));
  std::vector<int> each(static_cast<size_t>(batch.count));
  for (int& delay : each) {
    delay = delays(random);
  }
  return each;
}

// Every correlation id of `batch`, in order.
inline std::vector<std::string> requestIds(const RequestBatch& batch) {
  std::vector<std::string> ids;
  for (int i = 0; i < batch.count; ++i) {
    ids.push_back(requestId(batch, i));
  }
  return ids;
}

// Produces `batch` to `topic`, asking for answers on `reply_to`; returns once all are durable.
inline void produceRequests(const std::string& bootstrap, const std::string& topic,
                            const std::string& reply_to, const RequestBatch& batch) {
  rd_kafka_t* producer = newKafkaClient(RD_KAFKA_PRODUCER, bootstrap);
  REQUIRE(producer != nullptr);
  const std::string value = echoRequest("hello");
  const std::vector<int> delays = requestDelays(batch);
  for (int i = 0; i < batch.count; ++i) {
    const std::string id = requestId(batch, i);
    const std::string delay = std::to_string(delays[static_cast<size_t>(i)]);
    for (int record = 0; record < 2; ++record) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(5);
      rd_kafka_header_add(headers, "zilla:service", -1, "grpc.examples.echo.Echo", -1);
      rd_kafka_header_add(headers, "zilla:method", -1, "UnaryEcho", -1);
      rd_kafka_header_add(headers, "zilla:reply-to", -1, reply_to.c_str(), -1);
      rd_kafka_header_add(headers, "zilla:correlation-id", -1, id.c_str(), -1);
      if (delay != "0") {
        rd_kafka_header_add(headers, "meta:echo-delay-ms", -1, delay.c_str(), -1);
      }
      void* bytes = record == 0 ? const_cast<char*>(value.data()) : nullptr;
      const size_t length = record == 0 ? value.size() : 0;
      REQUIRE(rd_kafka_producev(
                  producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(batch.partition),
                  RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(bytes, length),
                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                  RD_KAFKA_V_END) == 0);
      rd_kafka_poll(producer, 0);
    }
  }
  REQUIRE(rd_kafka_flush(producer, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

// Reads the reply topic from the start, counting status tombstones per correlation id and keeping
// the reply records' values. Each record is counted once by its (partition, offset): if the
// reader's own group rebalances (a broker restart) and it reads the topic again, the answers are
// not counted twice.
class ReplyCounter {
 public:
  ReplyCounter(const std::string& bootstrap, const std::string& topic)
      : topic_(topic),
        consumer_(newKafkaClient(RD_KAFKA_CONSUMER, bootstrap, "reply-counter-" + topic)) {
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
  ReplyCounter(const ReplyCounter&) = delete;
  ReplyCounter& operator=(const ReplyCounter&) = delete;

  // Reads until `done()` or the deadline; returns `done()`.
  template <typename Done>
  bool readUntil(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 200);
      if (message == nullptr) {
        continue;
      }
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          seen_.insert({message->partition, message->offset}).second) {
        read_to_[message->partition] = std::max(read_to_[message->partition], message->offset + 1);
        const std::string id = headerOf(message, "zilla:correlation-id");
        if (message->payload == nullptr) {
          answers_[id] += 1;
          statuses_[id].push_back(headerOf(message, "zilla:status"));
          rd_kafka_timestamp_type_t type;
          last_ms_[id] = rd_kafka_message_timestamp(message, &type);
        } else {
          replies_[id].emplace_back(static_cast<const char*>(message->payload), message->len);
        }
      }
      rd_kafka_message_destroy(message);
    }
    return done();
  }

  // The same, reading `child`'s output meanwhile: through a long wait a chatty zilla-host would
  // otherwise block on a full pipe.
  template <typename Done>
  bool readUntil(Done done, std::chrono::milliseconds timeout, ChildProcess& child) {
    return readUntil(
        [&] {
          child.drain();
          return done();
        },
        timeout);
  }

  // Reads until every record the topic holds now has been read: once the hosts have stopped,
  // an answer they wrote late (a repeat, an abort) is counted too. Returns whether it got there.
  bool readToEnd(std::chrono::milliseconds timeout) {
    std::map<int32_t, int64_t> ends;
    rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer_, topic_.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(consumer_, 0, topic, &metadata, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int t = 0; t < metadata->topic_cnt; ++t) {
        for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
          const int32_t partition = metadata->topics[t].partitions[p].id;
          int64_t low = 0;
          int64_t high = 0;
          const bool known =
              rd_kafka_query_watermark_offsets(consumer_, topic_.c_str(), partition, &low, &high,
                                               10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
          ends[partition] = !known ? -1 : high > low ? high : 0;  // -1: never at the end
        }
      }
      rd_kafka_metadata_destroy(metadata);
    }
    rd_kafka_topic_destroy(topic);
    if (ends.empty()) {
      return false;
    }
    return readUntil(
        [&] {
          for (const auto& [partition, end] : ends) {
            const auto read = read_to_.find(partition);
            if (end != 0 && (end < 0 || read == read_to_.end() || read->second < end)) {
              return false;
            }
          }
          return true;
        },
        timeout);
  }

  // Distinct correlation ids answered.
  size_t answered() const { return answers_.size(); }
  // Status tombstones per correlation id (more than 1: answered again).
  const std::map<std::string, int>& answers() const { return answers_; }
  // The zilla:status of each answer of each id, in the order read.
  const std::map<std::string, std::vector<std::string>>& statuses() const { return statuses_; }
  // The timestamp (ms since the epoch, as the producer stamped it) of each id's last answer.
  const std::map<std::string, int64_t>& lastAnswerMs() const { return last_ms_; }
  // The values of each id's reply records (the response messages), in the order read.
  const std::map<std::string, std::vector<std::string>>& replies() const { return replies_; }

  size_t answeredMoreThanOnce() const {
    size_t count = 0;
    for (const auto& [id, answers] : answers_) {
      count += answers > 1 ? 1 : 0;
    }
    return count;
  }
  // Ids all of whose answers carry zilla:status `status`.
  size_t answeredOnlyWith(const std::string& status) const {
    size_t count = 0;
    for (const auto& [id, all] : statuses_) {
      bool only = true;
      for (const std::string& each : all) {
        only = only && each == status;
      }
      count += only ? 1 : 0;
    }
    return count;
  }

 private:
  std::string topic_;
  rd_kafka_t* consumer_;
  std::set<std::pair<int32_t, int64_t>> seen_;
  std::map<int32_t, int64_t> read_to_;  // per partition: the offset after the last record read
  std::map<std::string, std::vector<std::string>> replies_;
  std::map<std::string, int> answers_;
  std::map<std::string, std::vector<std::string>> statuses_;
  std::map<std::string, int64_t> last_ms_;
};

}  // namespace zb::test
