#include "reply_producer.h"

#include "correlated_call.h"
#include "remote_server.h"

#include <zb/sdk/extension.hpp>

namespace zb::kafka_grpc {
namespace {

const uint8_t kEmpty[1] = {0};

// gRPC status codes of an answer whose reply the topic refused.
constexpr int32_t kResourceExhausted = 8;
constexpr int32_t kInternal = 13;

// Kafka's error codes (as librdkafka reports them) for a record larger than the topic or the
// producer takes: MSG_SIZE_TOO_LARGE and RECORD_LIST_TOO_LARGE.
constexpr int32_t kMessageTooLarge = 10;
constexpr int32_t kRecordListTooLarge = 18;

}  // namespace

void ReplyProducer::reset() {
  port_ = nullptr;
  status_pending_ = status_written_ = done_ = replaced_ = false;
  status_ = 0;
  message_.clear();
  status_end_ = 0;
}

void ReplyProducer::open() {
  if (port_ != nullptr || done_) {
    return;
  }
  RemoteServer& server = call_.server();
  StreamPort* port =
      server.ports().create(server.host(), server.bindingId(), server.entryId(), this);
  port_ = port;
  ExtensionUse use;
  auto lease = server.writer();
  const sdk::Extension ext = server.extensions().produceBegin(server.routeIndex(call_.route()),
                                                              call_.replyTo(), use, lease);
  if (port->open(ext) != ZB_OK) {
    if (port_ == port) {
      port_ = nullptr;
    }
    failed("the entry binding refused the reply stream");
  }
}

bool ReplyProducer::forward(const zb_frame_t& data, int32_t deferred) {
  if (!opened() || done_) {
    return false;
  }
  StreamPort& port = *port_;
  const size_t length = data.payload != nullptr ? data.payload_length : 0;
  if (!port.out().canSend(static_cast<int64_t>(length))) {
    return false;
  }
  RemoteServer& server = call_.server();
  sdk::Extension ext;
  ExtensionUse use;
  auto lease = server.writer();
  if ((data.flags & ZB_DATA_INIT) != 0) {
    ext = server.extensions().replyRecord(call_.correlationId(), deferred, call_.replyMetadata(),
                                          use, lease);
  }
  if ((data.flags & ZB_DATA_FIN) != 0) {
    server.metrics().reply();
  }
  port.doData(data.flags, length > 0 ? data.payload : kEmpty, length, ext);
  return true;
}

void ReplyProducer::writeStatus(int32_t status, std::string_view message) {
  if (done_ || status_pending_ || status_written_) {
    return;
  }
  status_ = status;
  message_.assign(message);
  status_pending_ = true;
  if (port_ == nullptr) {
    open();
  }
  flushStatus();
}

void ReplyProducer::flushStatus() {
  if (!status_pending_ || done_ || !opened() || !port_->out().canSend(0)) {
    return;
  }
  RemoteServer& server = call_.server();
  if (server.options().acks != AckMode::kInSyncReplicas &&
      port_->out().acknowledge() < port_->out().sequence()) {
    // Without idempotence Kafka may land a retried reply record after a later record: the
    // status waits until every reply is acknowledged, so it can never come before one.
    return;
  }
  ExtensionUse use;
  auto lease = server.writer();
  const sdk::Extension ext =
      server.extensions().statusRecord(call_.correlationId(), status_, message_, use, lease);
  status_pending_ = false;
  status_written_ = true;
  StreamPort* port = port_;
  status_end_ = port->out().sequence() + port->out().padding();
  const bool measurable = port->out().padding() > 0;
  port->doData(ZB_DATA_COMPLETE, nullptr, 0, ext);
  if (!measurable) {
    // Without padding the tombstone takes no credit, so no acknowledgement can show it is
    // durable: END now, and the kafka binding's END (sent once all is acknowledged) says so.
    if (port_ == port && !port->writeClosed()) {
      port->doEnd();
    }
    return;
  }
  // END waits for the acknowledgement: once the initial direction is closed, no WINDOW can
  // report durability any more.
  if (port_ == port && port->out().acknowledge() >= status_end_) {
    durable();
  }
}

void ReplyProducer::abandon() {
  if (done_) {
    return;
  }
  done_ = true;
  status_pending_ = false;
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->cancel();
  }
}

void ReplyProducer::onPortWindow(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  call_.onReplyCredit();
  flushStatus();
  if (port_ == &port && status_written_ && !port.writeClosed() &&
      port.out().acknowledge() >= status_end_) {
    durable();
  }
}

void ReplyProducer::onPortEnd(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  // The kafka binding ENDs the reply once everything sent is acknowledged.
  if (status_written_) {
    if (!port.writeClosed()) {
      port.doEnd();
    }
    durable();
  } else {
    failed("the reply stream ended before the answer");
  }
}

void ReplyProducer::onPortAbort(StreamPort& port, const zb_frame_t& frame) {
  if (&port == port_) {
    const int32_t error = readRefusal(frame, "the reply stream was aborted");
    failed(reason_, error);
  }
}

void ReplyProducer::onPortReset(StreamPort& port, const zb_frame_t& frame) {
  if (&port == port_) {
    const int32_t error = readRefusal(frame, "the reply stream was reset");
    failed(reason_, error);
  }
}

int32_t ReplyProducer::readRefusal(const zb_frame_t& frame, const char* fallback) {
  const zb::kafka::KafkaExtension* ext = sdk::readKafka(frame, call_.server().kafkaType());
  const zb::kafka::ResetEx* reset = ext != nullptr ? ext->ex_as_ResetEx() : nullptr;
  if (reset == nullptr || reset->message() == nullptr) {
    reason_.assign(fallback);
    return reset != nullptr ? reset->error() : 0;
  }
  reason_.assign("the reply topic refused the record: ");
  reason_.append(sdk::textOf(reset->message()));
  return reset->error();
}

void ReplyProducer::onPortReleased(StreamPort& port) {
  if (&port == port_) {
    port_ = nullptr;
    failed("the reply stream closed");
  }
}

void ReplyProducer::durable() {
  if (done_) {
    return;
  }
  done_ = true;
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->detach();
    if (!port->writeClosed()) {
      // The kafka binding answers END, and the detached port goes back to its pool.
      port->doEnd();
    }
  }
  call_.onReplyDurable();
}

void ReplyProducer::failed(std::string_view why, int32_t error) {
  if (done_) {
    return;
  }
  status_pending_ = false;
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->cancel();
  }
  if (!replaced_ && !call_.server().stopping()) {
    // The requester gets the status alone, on a fresh stream.
    replaced_ = true;
    const bool too_large = error == kMessageTooLarge || error == kRecordListTooLarge;
    std::string message(why);
    if (too_large) {
      message.insert(0, "the reply is larger than the reply topic takes: ");
    }
    call_.onReplyRefused(why);
    status_written_ = false;
    status_end_ = 0;
    writeStatus(too_large ? kResourceExhausted : kInternal, message);
    return;
  }
  done_ = true;
  call_.onReplyFailed(why);
}

}  // namespace zb::kafka_grpc
