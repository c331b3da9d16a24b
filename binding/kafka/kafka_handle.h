// What every librdkafka handle of the binding shares: its logs go to the host's log, and its
// queues wake the engine thread through host.post, the only way back from librdkafka's threads.
#pragma once

#include <zb/sdk/binding.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

namespace zb::kafka_binding {

// Signal ids of the binding's posts; the signal's stream_id names the consumer group or producer.
enum WakeSignal : int32_t {
  kConsumerWake = 1,
  kProducerWake = 2,
  kReleaseTimer = 3,  // a consumer group stops waiting for its streams to release a revoke
};

// Posts one SIGNAL when a librdkafka queue turns non-empty, and no more until the engine has
// taken it (rearm), so a busy queue costs one post per drain, not one per message. librdkafka
// calls back only on the empty → non-empty transition: whoever attaches a queue that may hold
// items already, or stops draining one before it is empty, must post or drain again itself.
class QueueWake {
 public:
  QueueWake(const sdk::Host& host, WakeSignal signal, uint64_t target)
      : host_(host), signal_(signal), target_(target) {}
  QueueWake(const QueueWake&) = delete;
  QueueWake& operator=(const QueueWake&) = delete;

  // Thread: engine.
  void attach(rd_kafka_queue_t* queue) { rd_kafka_queue_cb_event_enable(queue, &onEvent, this); }
  static void detach(rd_kafka_queue_t* queue) {
    rd_kafka_queue_cb_event_enable(queue, nullptr, nullptr);
  }
  // Thread: engine, before draining the queues this wakes for.
  void rearm() { pending_.store(false, std::memory_order_release); }
  // Thread: engine. Wakes the engine later (to yield between drains).
  void postAgain() {
    if (!pending_.exchange(true, std::memory_order_acq_rel)) {
      host_.post(target_, signal_);
    }
  }

 private:
  // Thread: a librdkafka thread. Must not call librdkafka.
  static void onEvent(rd_kafka_t*, void* opaque) { static_cast<QueueWake*>(opaque)->postAgain(); }

  sdk::Host host_;
  WakeSignal signal_;
  uint64_t target_;
  std::atomic<bool> pending_{false};
};

// Routes librdkafka's log and error callbacks of a handle whose opaque is a KafkaHandle.
class KafkaHandle {
 public:
  KafkaHandle(const sdk::Host& host, std::string name) : host_(host), name_(std::move(name)) {}
  virtual ~KafkaHandle() = default;

  const sdk::Host& host() const { return host_; }
  const std::string& name() const { return name_; }

  // Sets `this` as the conf's opaque and installs the log and error callbacks. Thread: engine.
  void installCallbacks(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf, &onLog);
    rd_kafka_conf_set_error_cb(conf, &onError);
  }

 protected:
  // A log line of librdkafka, before it goes to the host log; true keeps it from going there.
  // Thread: any librdkafka thread (only atomics and host.post/log may be used).
  virtual bool onLibrdkafkaLog(int /*level*/, const char* /*facility*/, const char* /*message*/) {
    return false;
  }

  // A client-level error (served by a poll on the engine thread). Thread: engine.
  virtual void onClientError(rd_kafka_resp_err_t err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      return;  // the FAIL log line has said it
    }
    host_.logf(ZB_LOG_WARN, "%s: %s: %s", name_.c_str(), rd_kafka_err2name(err), reason);
  }

 private:
  // Thread: any librdkafka thread (host.log is safe from any thread).
  static void onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    auto* self = static_cast<KafkaHandle*>(rd_kafka_opaque(rk));
    if (self == nullptr || self->onLibrdkafkaLog(level, facility, message)) {
      return;
    }
    // A failed connection (facility FAIL) is transient: librdkafka retries it by itself.
    const bool transient = std::strcmp(facility, "FAIL") == 0;
    const zb_log_level host_level = level <= 3 && !transient ? ZB_LOG_ERROR
                                    : level <= 4             ? ZB_LOG_WARN
                                    : level <= 6             ? ZB_LOG_INFO
                                                             : ZB_LOG_DEBUG;
    self->host_.logf(host_level, "%s: librdkafka %s: %s", self->name_.c_str(), facility, message);
  }

  // Thread: the thread that polls the handle (the engine thread).
  static void onError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaHandle*>(opaque)->onClientError(static_cast<rd_kafka_resp_err_t>(err), reason);
  }

  sdk::Host host_;
  std::string name_;
};

}  // namespace zb::kafka_binding
