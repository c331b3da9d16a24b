#include "kafka_records.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace zb::bench {
namespace {

rd_kafka_conf_t* confFor(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "client.id", "e2e-bench", error, sizeof error);
  return conf;
}

void set(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char error[512];
  rd_kafka_conf_set(conf, name, value, error, sizeof error);
}

}  // namespace

bool createTopics(const std::string& bootstrap, const std::vector<std::string>& topics,
                  int partitions, std::string& error) {
  char reason[512];
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_PRODUCER, confFor(bootstrap), reason, sizeof reason);
  if (client == nullptr) {
    error = reason;
    return false;
  }
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const std::string& topic : topics) {
    requests.push_back(rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, reason, sizeof reason));
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(client);
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, reason, sizeof reason);
  rd_kafka_CreateTopics(client, requests.data(), requests.size(), options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60000);
  bool ok = event != nullptr && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (event == nullptr) {
    error = "CreateTopics: no answer within 60 s";
  } else if (!ok) {
    error = std::string("CreateTopics: ") + rd_kafka_event_error_string(event);
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count; ++i) {
      if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ok = false;
        error += std::string(rd_kafka_topic_result_name(results[i])) + ": " +
                 rd_kafka_topic_result_error_string(results[i]) + "; ";
      }
    }
  }
  if (event != nullptr) {
    rd_kafka_event_destroy(event);
  }
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(requests.data(), requests.size());
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(client);
  return ok;
}

namespace {

// Produces request `n` of `batch`: its record, then its tombstone. Empty on success.
std::string produceRequest(rd_kafka_t* producer, const RequestBatch& batch, uint64_t n) {
  const std::string id = requestId(batch, n);
  char value[64];
  // EchoRequest{message = "request <n>"}: field 1, length-delimited.
  const int text = std::snprintf(value + 2, sizeof value - 2, "request %llu",
                                 static_cast<unsigned long long>(n));
  value[0] = 0x0a;
  value[1] = static_cast<char>(text);
  for (const bool tombstone : {false, true}) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(4);
    rd_kafka_header_add(headers, "zilla:service", -1, batch.service.data(),
                        static_cast<ssize_t>(batch.service.size()));
    rd_kafka_header_add(headers, "zilla:method", -1, batch.method.data(),
                        static_cast<ssize_t>(batch.method.size()));
    rd_kafka_header_add(headers, "zilla:reply-to", -1, batch.reply_to.data(),
                        static_cast<ssize_t>(batch.reply_to.size()));
    rd_kafka_header_add(headers, "zilla:correlation-id", -1, id.data(),
                        static_cast<ssize_t>(id.size()));
    rd_kafka_resp_err_t err;
    while (
        (err = rd_kafka_producev(
             producer, RD_KAFKA_V_TOPIC(batch.topic.c_str()), RD_KAFKA_V_KEY(id.data(), id.size()),
             RD_KAFKA_V_VALUE(tombstone ? nullptr : value, tombstone ? 0 : size_t(text) + 2),
             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
             RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);
      return std::string("produce: ") + rd_kafka_err2str(err);
    }
  }
  return "";
}

// A producer counting failed deliveries in `failed` (its opaque). Null with `error` set.
rd_kafka_t* newProducer(const std::string& bootstrap, const char* linger_ms,
                        std::atomic<uint64_t>* failed, std::string& error) {
  rd_kafka_conf_t* conf = confFor(bootstrap);
  set(conf, "linger.ms", linger_ms);
  set(conf, "queue.buffering.max.messages", "1000000");
  rd_kafka_conf_set_opaque(conf, failed);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      static_cast<std::atomic<uint64_t>*>(opaque)->fetch_add(1);
    }
  });
  char reason[512];
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (producer == nullptr) {
    error = reason;
  }
  return producer;
}

// Flushes and destroys `producer`. Empty when every record was delivered.
std::string closeProducer(rd_kafka_t* producer, const std::atomic<uint64_t>& failed) {
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer, 120000);
  rd_kafka_destroy(producer);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR || failed != 0) {
    return std::to_string(failed.load()) + " records failed (" + rd_kafka_err2str(flushed) + ")";
  }
  return "";
}

}  // namespace

int64_t epochNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string requestId(const RequestBatch& batch, uint64_t n) {
  char id[128];
  std::snprintf(id, sizeof id, "%s-%010llu", batch.id_prefix.c_str(),
                static_cast<unsigned long long>(n));
  return id;
}

bool preloadRequests(const std::string& bootstrap, const RequestBatch& batch, std::string& error) {
  std::atomic<uint64_t> failed{0};
  rd_kafka_t* producer = newProducer(bootstrap, "20", &failed, error);
  if (producer == nullptr) {
    return false;
  }
  for (uint64_t n = 0; n < batch.count; ++n) {
    error = produceRequest(producer, batch, n);
    if (!error.empty()) {
      rd_kafka_destroy(producer);
      return false;
    }
    rd_kafka_poll(producer, 0);
  }
  error = closeProducer(producer, failed);
  if (!error.empty()) {
    error = "preload: " + error;
  }
  return error.empty();
}

PacedRequests::PacedRequests(const std::string& bootstrap, RequestBatch batch, double rate)
    : batch_(std::move(batch)),
      sent_ns_(batch_.count, 0),
      thread_([this, bootstrap, rate] { run(bootstrap, rate); }) {}

PacedRequests::~PacedRequests() { finish(); }

std::string PacedRequests::finish() {
  if (thread_.joinable()) {
    thread_.join();
  }
  return error_;
}

// Thread: its own.
void PacedRequests::run(std::string bootstrap, double rate) {
  std::atomic<uint64_t> failed{0};
  rd_kafka_t* producer = newProducer(bootstrap, "0", &failed, error_);
  if (producer == nullptr) {
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const double interval_ns = 1e9 / rate;
  for (uint64_t n = 0; n < batch_.count; ++n) {
    // Pacing, not synchronisation: request n is due at start + n / rate.
    const auto due = start + std::chrono::nanoseconds(
                                 static_cast<int64_t>(static_cast<double>(n) * interval_ns));
    rd_kafka_poll(producer, 0);  // delivery reports
    std::this_thread::sleep_until(due);
    sent_ns_[n] = epochNs();
    error_ = produceRequest(producer, batch_, n);
    if (!error_.empty()) {
      rd_kafka_destroy(producer);
      return;
    }
  }
  error_ = closeProducer(producer, failed);
}

ReplyCounter::ReplyCounter(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_conf_t* conf = confFor(bootstrap);
  set(conf, "group.id", ("e2e-bench-counter-" + topic).c_str());
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "false");
  set(conf, "fetch.wait.max.ms", "10");
  char reason[512];
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
  if (consumer_ == nullptr) {
    std::fprintf(stderr, "e2e-bench: reply counter: %s\n", reason);
    return;
  }
  rd_kafka_poll_set_consumer(consumer_);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer_, list);
  rd_kafka_topic_partition_list_destroy(list);
}

ReplyCounter::~ReplyCounter() {
  if (consumer_ != nullptr) {
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
}

void ReplyCounter::poll(std::chrono::milliseconds timeout) {
  int wait_ms = static_cast<int>(timeout.count());
  while (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, wait_ms)) {
    wait_ms = 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const int64_t timestamp = rd_kafka_message_timestamp(m, nullptr);
      const bool first = data_records_ + status_records_ == 0;
      if (first_reply_ms_ == 0 || (timestamp > 0 && timestamp < first_reply_ms_)) {
        first_reply_ms_ = timestamp;
      }
      if (first) {
        wait_ms = -1;  // return right after the first reply, so the caller can note the moment
      }
      if (m->payload != nullptr) {
        ++data_records_;
      } else {
        rd_kafka_headers_t* headers = nullptr;
        const void* status = nullptr;
        size_t status_size = 0;
        const void* id = nullptr;
        size_t id_size = 0;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "zilla:status", &status, &status_size) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "zilla:correlation-id", &id, &id_size) ==
                RD_KAFKA_RESP_ERR_NO_ERROR) {
          ++status_records_;
          if (std::string_view(static_cast<const char*>(status), status_size) != "0") {
            ++error_statuses_;
          }
          const auto [it, fresh] = answered_.emplace(static_cast<const char*>(id), id_size);
          if (fresh) {
            arrivals_.emplace(*it, timestamp);
          }
          last_status_ms_ = std::max(last_status_ms_, timestamp);
        }
      }
    }
    rd_kafka_message_destroy(m);
    if (wait_ms < 0) {
      break;
    }
  }
}

}  // namespace zb::bench
