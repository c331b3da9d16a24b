// direct-pipeline: the hand-written baseline e2e-bench compares zilla-host with. It does what the
// bridge does for unary requests in Zilla's record format, with nothing in between:
//
//   librdkafka consumer (group, manual commits)
//     -> gRPC C++ async generic unary call per request record (at most --in-flight at once)
//     -> librdkafka producer: the reply record (key and zilla:correlation-id = the correlation id)
//        and the status tombstone (zilla:status, zilla:message) on the request's zilla:reply-to
//     -> once the status tombstone is acknowledged, the request's offsets may be committed
//        (in order per partition: never past a request still in flight).
//
// Tombstones that end a request stream hold no slot. One gRPC completion thread (fewer threads
// beat more on two cores), one producer delivery thread, the consumer on the main thread.
// SIGTERM/SIGINT: stop consuming, finish the calls in flight, commit, leave the group, exit 0.
//
// With --reply-to, that topic's metadata is asked for at start, as the bridge does for its
// routes' reply-to topics (otherwise the first reply waits about a second for it).
//
//   direct-pipeline --bootstrap HOST:PORT --topic T --group G --target HOST:PORT
//                   [--in-flight N] [--reply-to TOPIC] [--linger-ms N] [--acks 1|all]
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace {

std::atomic<bool> g_stop{false};

void onStopSignal(int) { g_stop = true; }

struct Options {
  std::string bootstrap;
  std::string topic;
  std::string group;
  std::string target;
  std::string reply_to;
  std::string linger_ms;   // empty: librdkafka's default
  std::string acks = "1";  // "1", or "all" (idempotent)
  int in_flight = 64;
};

// One request in flight: from its call to the acknowledgement of its status tombstone.
struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  std::string correlation_id;
  std::string reply_to;
  int32_t partition = 0;
  int64_t offset = 0;
  std::chrono::steady_clock::time_point started;    // call started
  std::chrono::steady_clock::time_point completed;  // call completed, reply produced
};

// Offsets consumed per partition, in order, and which are done: what may be committed.
class CommitTracker {
 public:
  void add(int32_t partition, int64_t offset, bool done) {
    std::lock_guard<std::mutex> lock(mutex_);
    partitions_[partition].pending.push_back({offset, done});
  }
  void done(int32_t partition, int64_t offset) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : partitions_[partition].pending) {
      if (entry.offset == offset) {
        entry.done = true;
        break;
      }
    }
  }
  // Partitions whose done prefix moved, with the offset after it; nullptr when none did.
  rd_kafka_topic_partition_list_t* advance(const std::string& topic) {
    std::lock_guard<std::mutex> lock(mutex_);
    rd_kafka_topic_partition_list_t* list = nullptr;
    for (auto& [partition, track] : partitions_) {
      int64_t next = -1;
      while (!track.pending.empty() && track.pending.front().done) {
        next = track.pending.front().offset + 1;
        track.pending.pop_front();
      }
      if (next >= 0) {
        if (list == nullptr) {
          list = rd_kafka_topic_partition_list_new(8);
        }
        rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = next;
      }
    }
    return list;
  }

 private:
  struct Entry {
    int64_t offset;
    bool done;
  };
  struct Track {
    std::deque<Entry> pending;
  };
  std::mutex mutex_;
  std::map<int32_t, Track> partitions_;
};

struct Pipeline {
  Options options;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::CompletionQueue cq;
  CommitTracker tracker;
  std::mutex slots_mutex;
  std::condition_variable slots_freed;
  int in_flight = 0;
  bool commit_in_flight = false;  // main thread only
  std::atomic<uint64_t> calls{0}, failed_calls{0}, failed_produces{0};
  std::atomic<uint64_t> call_us{0}, produce_us{0};  // summed latencies of the two halves
};

Pipeline* g_pipeline = nullptr;

std::string_view header(rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (headers == nullptr ||
      rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {};
  }
  return value != nullptr ? std::string_view(static_cast<const char*>(value), size)
                          : std::string_view();
}

rd_kafka_conf_t* baseConf(const Options& options) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", options.bootstrap.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "client.id", "direct-pipeline", error, sizeof error);
  return conf;
}

// Thread: the producer's delivery thread (inside rd_kafka_poll).
void onDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  Pipeline& p = *g_pipeline;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++p.failed_produces;
  }
  Call* call = static_cast<Call*>(message->_private);
  if (call == nullptr) {
    return;  // a reply record: the status tombstone after it says when the request is durable
  }
  p.tracker.done(call->partition, call->offset);
  const auto now = std::chrono::steady_clock::now();
  p.call_us +=
      std::chrono::duration_cast<std::chrono::microseconds>(call->completed - call->started)
          .count();
  p.produce_us +=
      std::chrono::duration_cast<std::chrono::microseconds>(now - call->completed).count();
  delete call;
  {
    std::lock_guard<std::mutex> lock(p.slots_mutex);
    --p.in_flight;
  }
  p.slots_freed.notify_one();
}

// Thread: main (inside rd_kafka_consumer_poll).
void onCommit(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*) {
  g_pipeline->commit_in_flight = false;
}

// Produces, waiting for room in librdkafka's queue if it is full. Thread: completion.
void produce(Pipeline& p, const Call& call, const void* value, size_t length, bool status,
             void* opaque) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%d", static_cast<int>(call.status.error_code()));
  const std::string& message = call.status.error_message();
  while (true) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
    rd_kafka_header_add(headers, "zilla:correlation-id", -1, call.correlation_id.data(),
                        static_cast<ssize_t>(call.correlation_id.size()));
    if (status) {
      rd_kafka_header_add(headers, "zilla:status", -1, digits, -1);
      if (!call.status.ok()) {
        rd_kafka_header_add(headers, "zilla:message", -1, message.data(),
                            static_cast<ssize_t>(message.size()));
      }
    }
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(p.producer, RD_KAFKA_V_TOPIC(call.reply_to.c_str()),
                          RD_KAFKA_V_KEY(call.correlation_id.data(), call.correlation_id.size()),
                          RD_KAFKA_V_VALUE(const_cast<void*>(value), length),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;  // librdkafka owns the headers now
    }
    rd_kafka_headers_destroy(headers);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      std::fprintf(stderr, "direct-pipeline: produce: %s\n", rd_kafka_err2str(err));
      // As a failed delivery: counted, and the request's slot and offset are released.
      rd_kafka_message_t failed{};
      failed.err = err;
      failed._private = opaque;
      onDelivery(p.producer, &failed, nullptr);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // back-pressure from librdkafka
  }
}

// Thread: completion. Each finished call becomes its reply record and status tombstone.
void completeCalls(Pipeline& p) {
  void* tag = nullptr;
  bool ok = false;
  std::string body;
  while (p.cq.Next(&tag, &ok)) {
    Call* call = static_cast<Call*>(tag);
    call->completed = std::chrono::steady_clock::now();
    if (!call->status.ok()) {
      ++p.failed_calls;
    } else {
      std::vector<grpc::Slice> slices;
      call->response.Dump(&slices);
      body.clear();
      for (const grpc::Slice& slice : slices) {
        body.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      produce(p, *call, body.data(), body.size(), false, nullptr);
    }
    produce(p, *call, nullptr, 0, true, call);
  }
}

// Thread: main.
void startCall(Pipeline& p, const rd_kafka_message_t& message, rd_kafka_headers_t* headers) {
  auto* call = new Call();
  call->correlation_id = header(headers, "zilla:correlation-id");
  call->reply_to = header(headers, "zilla:reply-to");
  call->partition = message.partition;
  call->offset = message.offset;
  std::string method = "/";
  method.append(header(headers, "zilla:service"))
      .append("/")
      .append(header(headers, "zilla:method"));
  grpc::Slice slice(message.payload, message.len);
  grpc::ByteBuffer request(&slice, 1);
  {
    std::lock_guard<std::mutex> lock(p.slots_mutex);
    ++p.in_flight;
  }
  ++p.calls;
  call->started = std::chrono::steady_clock::now();
  call->reader = p.stub->PrepareUnaryCall(&call->context, method, request, &p.cq);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

// Thread: main. One asynchronous commit at a time, as the kafka binding does.
void commit(Pipeline& p, bool wait) {
  if (p.commit_in_flight && !wait) {
    return;
  }
  rd_kafka_topic_partition_list_t* list = p.tracker.advance(p.options.topic);
  if (list == nullptr) {
    return;
  }
  if (rd_kafka_commit(p.consumer, list, wait ? 0 : 1) == RD_KAFKA_RESP_ERR_NO_ERROR && !wait) {
    p.commit_in_flight = true;
  }
  rd_kafka_topic_partition_list_destroy(list);
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--bootstrap") {
      options.bootstrap = value;
    } else if (name == "--topic") {
      options.topic = value;
    } else if (name == "--group") {
      options.group = value;
    } else if (name == "--target") {
      options.target = value;
    } else if (name == "--linger-ms") {
      options.linger_ms = value;
    } else if (name == "--acks") {
      options.acks = value;
    } else if (name == "--reply-to") {
      options.reply_to = value;
    } else if (name == "--in-flight") {
      options.in_flight = std::max(1, std::atoi(value.c_str()));
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !options.bootstrap.empty() && !options.topic.empty() &&
         !options.group.empty() && !options.target.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Pipeline p;
  g_pipeline = &p;
  if (!parse(argc, argv, p.options)) {
    std::fprintf(stderr,
                 "usage: direct-pipeline --bootstrap HOST:PORT --topic T --group G "
                 "--target HOST:PORT [--in-flight N] [--reply-to TOPIC] [--linger-ms N] "
                 "[--acks 1|all]\n");
    return 2;
  }
  std::signal(SIGTERM, onStopSignal);
  std::signal(SIGINT, onStopSignal);
  char error[512];

  rd_kafka_conf_t* conf = baseConf(p.options);
  rd_kafka_conf_set(conf, "group.id", p.options.group.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
  rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", error, sizeof error);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", error, sizeof error);
  rd_kafka_conf_set_offset_commit_cb(conf, &onCommit);
  p.consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  conf = baseConf(p.options);
  // As the bridge's config: leader_only (1), or in_sync_replicas (all, idempotent).
  rd_kafka_conf_set(conf, "acks", p.options.acks.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "enable.idempotence", p.options.acks == "all" ? "true" : "false", error,
                    sizeof error);
  rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", error, sizeof error);
  if (!p.options.linger_ms.empty() &&
      rd_kafka_conf_set(conf, "linger.ms", p.options.linger_ms.c_str(), error, sizeof error) !=
          RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "direct-pipeline: linger.ms: %s\n", error);
    return 2;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &onDelivery);
  p.producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (p.consumer == nullptr || p.producer == nullptr) {
    std::fprintf(stderr, "direct-pipeline: %s\n", error);
    return 1;
  }
  rd_kafka_poll_set_consumer(p.consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, p.options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(p.consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  if (!p.options.reply_to.empty()) {
    rd_kafka_topic_t* topic = rd_kafka_topic_new(p.producer, p.options.reply_to.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(p.producer, 0, topic, &metadata, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(metadata);
    }
    rd_kafka_topic_destroy(topic);
  }
  p.channel = grpc::CreateChannel(p.options.target, grpc::InsecureChannelCredentials());
  p.stub = std::make_unique<grpc::GenericStub>(p.channel);
  std::thread completion(completeCalls, std::ref(p));
  std::atomic<bool> delivering{true};
  std::thread delivery([&] {
    while (delivering) {
      rd_kafka_poll(p.producer, 100);
    }
  });

  while (!g_stop) {
    {
      std::unique_lock<std::mutex> lock(p.slots_mutex);
      if (p.in_flight >= p.options.in_flight) {
        p.slots_freed.wait_for(lock, std::chrono::milliseconds(100));
        lock.unlock();
        commit(p, false);
        continue;
      }
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(p.consumer, 100);
    if (message != nullptr) {
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_t* headers = nullptr;
        rd_kafka_message_headers(message, &headers);
        const bool tombstone = message->payload == nullptr;
        p.tracker.add(message->partition, message->offset, tombstone);
        if (!tombstone) {
          startCall(p, *message, headers);
        }
      } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::fprintf(stderr, "direct-pipeline: consume: %s\n", rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    commit(p, false);
  }

  // Stopping: the calls in flight finish (bounded), then a last synchronous commit.
  {
    std::unique_lock<std::mutex> lock(p.slots_mutex);
    p.slots_freed.wait_for(lock, std::chrono::seconds(10), [&] { return p.in_flight == 0; });
  }
  commit(p, true);
  rd_kafka_consumer_close(p.consumer);
  rd_kafka_flush(p.producer, 5000);
  p.cq.Shutdown();
  completion.join();
  delivering = false;
  delivery.join();
  rd_kafka_destroy(p.consumer);
  rd_kafka_destroy(p.producer);
  const uint64_t calls = std::max<uint64_t>(1, p.calls.load());
  std::fprintf(stderr,
               "direct-pipeline: %llu calls, %llu failed calls, %llu failed produces; mean "
               "latency: call %llu us, reply produced to acknowledged %llu us\n",
               static_cast<unsigned long long>(p.calls.load()),
               static_cast<unsigned long long>(p.failed_calls.load()),
               static_cast<unsigned long long>(p.failed_produces.load()),
               static_cast<unsigned long long>(p.call_us.load() / calls),
               static_cast<unsigned long long>(p.produce_us.load() / calls));
  return 0;
}
