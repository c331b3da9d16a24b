#include "kafka_tools.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace zb::kafka_test {

namespace {

rd_kafka_conf_t* baseConf(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[256];
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), reason, sizeof reason) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  return conf;
}

void set(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char reason[256];
  REQUIRE_MESSAGE(rd_kafka_conf_set(conf, name, value, reason, sizeof reason) == RD_KAFKA_CONF_OK,
                  reason);
}

rd_kafka_t* newHandle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char reason[256];
  rd_kafka_t* rk = rd_kafka_new(type, conf, reason, sizeof reason);
  REQUIRE_MESSAGE(rk != nullptr, reason);
  return rk;
}

std::optional<std::string> bytes(const void* data, size_t size) {
  if (data == nullptr) {
    return std::nullopt;
  }
  return std::string(static_cast<const char*>(data), size);
}

}  // namespace

std::string brokerFromEnv() {
  const char* bootstrap = std::getenv("ZB_KAFKA_BOOTSTRAP");
  return bootstrap != nullptr ? bootstrap : "";
}

std::string uniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + "-" +
         std::to_string(counter++);
}

void createTopic(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_t* rk = newHandle(RD_KAFKA_PRODUCER, baseConf(bootstrap));
  char reason[256];
  rd_kafka_NewTopic_t* spec =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, reason, sizeof reason);
  REQUIRE_MESSAGE(spec != nullptr, reason);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &spec, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  REQUIRE(event != nullptr);
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
  REQUIRE(result != nullptr);
  size_t count = 0;
  const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
  REQUIRE(count == 1);
  const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(topics[0]);
  CHECK_MESSAGE(
      (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS),
      rd_kafka_err2str(err));
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(spec);
  rd_kafka_destroy(rk);
}

void produceRecords(const std::string& bootstrap, const std::string& topic,
                    const std::vector<Record>& records) {
  rd_kafka_conf_t* conf = baseConf(bootstrap);
  set(conf, "linger.ms", "0");
  rd_kafka_t* rk = newHandle(RD_KAFKA_PRODUCER, conf);
  for (const Record& record : records) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [name, value] : record.headers) {
      rd_kafka_header_add(headers, name.data(), ssize_t(name.size()),
                          value ? value->data() : nullptr, value ? ssize_t(value->size()) : 0);
    }
    const void* key = record.key ? record.key->data() : nullptr;
    const size_t key_size = record.key ? record.key->size() : 0;
    void* value = record.value ? const_cast<char*>(record.value->data()) : nullptr;
    const size_t value_size = record.value ? record.value->size() : 0;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(record.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    REQUIRE_MESSAGE(err == RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_err2str(err));
  }
  REQUIRE(rd_kafka_flush(rk, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

std::vector<Record> readRecords(const std::string& bootstrap, const std::string& topic,
                                int partitions, size_t count, int timeout_ms) {
  rd_kafka_conf_t* conf = baseConf(bootstrap);
  set(conf, "group.id", uniqueName("reader").c_str());
  set(conf, "enable.auto.commit", "false");
  rd_kafka_t* rk = newHandle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  std::vector<Record> records;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 100);
    if (message == nullptr) {
      continue;
    }
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Record record;
      record.key = bytes(message->key, message->key_len);
      record.value = bytes(message->payload, message->len);
      record.partition = message->partition;
      record.offset = message->offset;
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          record.headers.emplace_back(name, bytes(value, size));
        }
      }
      records.push_back(std::move(record));
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return records;
}

CommittedOffsets::CommittedOffsets(const std::string& bootstrap, const std::string& group) {
  rd_kafka_conf_t* conf = baseConf(bootstrap);
  set(conf, "group.id", group.c_str());
  set(conf, "enable.auto.commit", "false");
  rk_ = newHandle(RD_KAFKA_CONSUMER, conf);
}

CommittedOffsets::~CommittedOffsets() { rd_kafka_destroy(rk_); }

int64_t CommittedOffsets::get(const std::string& topic, int32_t partition) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list, 5000);
  const int64_t offset =
      err == RD_KAFKA_RESP_ERR_NO_ERROR ? list->elems[0].offset : RD_KAFKA_OFFSET_INVALID;
  rd_kafka_topic_partition_list_destroy(list);
  return offset;
}

std::string kcat(const std::string& args, const std::string& input) {
  std::string command = "kcat " + args;
  std::string input_path;
  if (!input.empty()) {
    input_path = ZB_BINARY_DIR "/" + uniqueName("kcat-input");
    std::ofstream(input_path) << input;
    command += " < " + input_path;
  } else {
    command += " < /dev/null";
  }
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  if (!input_path.empty()) {
    std::remove(input_path.c_str());
  }
  REQUIRE_MESSAGE(status == 0, "kcat failed: " << command);
  return output;
}

}  // namespace zb::kafka_test
