#include "fetch_stream.h"

#include "correlated_call.h"
#include "remote_server.h"

#include <zb/sdk/extension.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace zb::kafka_grpc {
namespace {

using flatbuffers::Offset;

Offset<zb::kafka::ConditionEntry> headerCondition(flatbuffers::FlatBufferBuilder& fbb,
                                                  std::string_view name, std::string_view value) {
  const auto condition =
      zb::kafka::CreateHeaderCondition(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value));
  return zb::kafka::CreateConditionEntry(fbb, zb::kafka::Condition::HeaderCondition,
                                         condition.Union());
}

}  // namespace

FetchStream::FetchStream(RemoteServer& server, const Route& route, const Condition& when,
                         uint32_t index)
    : server_(server),
      route_(route),
      when_(when),
      index_(index),
      held_(kWindow),
      answered_(std::max<size_t>(4096, size_t{64} * server.options().max_in_flight)) {
  if (!server.options().dead_letter_topic.empty()) {
    dead_letter_ = std::make_unique<DeadLetterProducer>(server, *this);
  }
}

void FetchStream::open() {
  if (port_ != nullptr || server_.stopping()) {
    return;
  }
  const Options& options = server_.options();
  StreamPort* port =
      server_.ports().create(server_.host(), server_.bindingId(), server_.entryId(), this);
  port_ = port;
  sdk::Extension ext;
  auto lease = server_.writer();
  {
    flatbuffers::FlatBufferBuilder& fbb = lease->start();
    // The filter Zilla builds: key, headers, service, method (unless "*"), reply-to, ANDed.
    std::vector<Offset<zb::kafka::ConditionEntry>> conditions;
    if (when_.key) {
      const auto key = zb::kafka::CreateKeyCondition(fbb, sdk::bytesIn(fbb, *when_.key));
      conditions.push_back(
          zb::kafka::CreateConditionEntry(fbb, zb::kafka::Condition::KeyCondition, key.Union()));
    }
    for (const auto& [name, value] : when_.headers) {
      conditions.push_back(headerCondition(fbb, name, value));
    }
    if (when_.filtersService()) {
      conditions.push_back(headerCondition(fbb, options.correlation.service, when_.service));
    }
    if (when_.filtersMethod()) {
      conditions.push_back(headerCondition(fbb, options.correlation.method, when_.method));
    }
    conditions.push_back(headerCondition(fbb, options.correlation.reply_to, when_.reply_to));
    const auto filter = zb::kafka::CreateFilter(fbb, fbb.CreateVector(conditions));
    const auto filters = fbb.CreateVector(&filter, 1);
    const zb::kafka::Offset partition(-1, -2);
    const auto partitions = fbb.CreateVectorOfStructs(&partition, 1);
    const auto begin = zb::kafka::CreateMergedBeginEx(
        fbb, zb::kafka::Capabilities::FETCH_ONLY, fbb.CreateString(when_.topic),
        fbb.CreateString(options.group_id), partitions, filters,
        static_cast<zb::kafka::AckMode>(options.acks));
    ext = lease->finishKafka(
        zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::MergedBeginEx, begin.Union()),
        server_.kafkaType());
  }
  if (port->open(ext) != ZB_OK) {
    // The port is already gone; try again later.
    if (port_ == port) {
      port_ = nullptr;
    }
    lost("the entry binding refused the fetch stream");
  }
}

FetchStream::Left FetchStream::stop() {
  server_.cancelTimer(reopen_timer_);
  if (port_ == nullptr || port_->writeClosed()) {
    return Left{};
  }
  // No record is taken from here on (they stay uncommitted, for the next owner); what is at
  // the service finishes and is committed, then END (the kafka binding answers with END and
  // lost() cleans up).
  const Left left = leave(-1);
  finishStopWhenDone();
  return left;
}

void FetchStream::finishStopWhenDone() {
  if (!server_.stopping() || port_ == nullptr || port_->writeClosed() || !fenced_.empty() ||
      (dead_letter_ && !dead_letter_->idle())) {
    return;
  }
  port_->doEnd();
}

void FetchStream::onReopenTimer() {
  reopen_timer_ = 0;
  open();
}

void FetchStream::onPortBegin(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  attempts_ = 0;
  port.in().setMaximum(kWindow);
  port.in().setPadding(kPadding);
  port.doWindow();
}

void FetchStream::onPortData(StreamPort& port, const zb_frame_t& frame) {
  if (&port != port_) {
    return;
  }
  if ((frame.flags & ZB_DATA_INIT) != 0) {
    beginRecord(frame);
  }
  deliver(frame);
  if ((frame.flags & ZB_DATA_FIN) != 0) {
    endRecord();
  }
  sendWindow();
}

void FetchStream::beginRecord(const zb_frame_t& frame) {
  if (in_record_) {
    // The previous record ended without FIN: count it as whole.
    endRecord();
  }
  in_record_ = true;
  sink_ = nullptr;
  record_ = OffsetTracker::Handle{};
  deferred_ = 0;

  // Verified and its headers parsed in one pass.
  const zb::kafka::FetchDataEx* data =
      headers_.read(frame, server_.kafkaType(), server_.options().correlation);
  if (data == nullptr || data->partition() == nullptr) {
    server_.metrics().error(ErrorReason::kBadFrame);
    server_.host().logf(ZB_LOG_WARN, "%s: record without a fetch extension on topic %s; skipped",
                        server_.label().c_str(), when_.topic.c_str());
    return;
  }
  const int32_t partition = data->partition()->partition_id();
  const int64_t offset = data->partition()->partition_offset();
  if (server_.stopping() || revoking(partition) || tracker_.seen(partition, offset)) {
    // Left for the partition's next owner, or fetched again: passed to no call, not committed
    // here, its credit returned.
    if (tracker_.seen(partition, offset)) {
      server_.host().logf(ZB_LOG_DEBUG, "%s: %s/%d@%lld fetched again; already taken",
                          server_.label().c_str(), when_.topic.c_str(), partition,
                          static_cast<long long>(offset));
    }
    return;
  }
  server_.metrics().request();
  deferred_ = data->deferred();
  record_ = tracker_.add(partition, offset);

  if (headers_.correlation_id.empty() || headers_.reply_to.empty()) {
    const char* missing = headers_.correlation_id.empty() ? "correlation-id" : "reply-to";
    server_.metrics().error(ErrorReason::kUnanswerable);
    server_.host().logf(ZB_LOG_WARN, "%s: record %s/%d@%lld has no %s header; %s",
                        server_.label().c_str(), when_.topic.c_str(),
                        data->partition()->partition_id(),
                        static_cast<long long>(data->partition()->partition_offset()), missing,
                        dead_letter_ ? "sent to the dead-letter topic" : "committed unanswered");
    if (dead_letter_) {
      char source[64];
      std::snprintf(source, sizeof source, "/%d@%lld", data->partition()->partition_id(),
                    static_cast<long long>(data->partition()->partition_offset()));
      std::string reason = "no ";
      reason += missing;
      reason += " header";
      dead_letter_->add(record_, *data, reason, when_.topic + source);
      sink_ = dead_letter_.get();
    } else {
      settle(record_);
    }
    return;
  }

  const bool tombstone = frame.payload == nullptr;
  CorrelatedCall* call = calls_.find(headers_.correlation_id);
  if (call != nullptr) {
    call->addRecord(record_);
    if (tombstone) {
      call->endRequest();
    } else {
      sink_ = call;
    }
    return;
  }
  if (!answered_.empty() && answered_.contains(headers_.correlation_id)) {
    // A later record of a request answered already, whose call was let go: nothing to do.
    if (tombstone) {
      answered_.erase(headers_.correlation_id);
    }
    settle(record_);
    return;
  }
  if (tombstone) {
    // The end of a request stream whose call is not known here (answered and forgotten, or
    // never opened): nothing to end. Counted, so that no record goes unaccounted for.
    server_.metrics().error(ErrorReason::kStrayTombstone);
    settle(record_);
    return;
  }

  CorrelatedCall& fresh = server_.newCall();
  fresh.reset(*this, route_, headers_);
  calls_.insert(&fresh);
  fresh.addRecord(record_);
  sink_ = &fresh;
  if (headers_.service.empty() || headers_.method.empty()) {
    server_.metrics().error(ErrorReason::kBadRequest);
    fresh.reject(13, "missing service or method header");
  } else if (headers_.bad_base64 != nullptr) {
    server_.metrics().error(ErrorReason::kBadRequest);
    std::string message = "header meta:";
    message.append(headers_.bad_base64->name);
    message.append("-bin is not base64");
    fresh.reject(3, message);
  } else if (const size_t size = headers_.headerListSize(route_.authority);
             size > server_.options().max_metadata_size) {
    // Sent, it would make the service's gRPC drop the connection that other calls share.
    server_.metrics().error(ErrorReason::kBadRequest);
    fresh.reject(8, "the request's metadata and method take " + std::to_string(size) +
                        " bytes of headers, more than max-metadata-size (" +
                        std::to_string(server_.options().max_metadata_size) + "): not sent");
  } else {
    fresh.start();
  }
}

void FetchStream::deliver(const zb_frame_t& frame) {
  const bool null = frame.payload == nullptr;
  if (sink_ == nullptr || (null && !sink_->takesNull())) {
    // A tombstone (its call already knows), or the bytes of a record nobody takes.
    returnCredit(frame.reserved);
    return;
  }
  RecordSink& sink = *sink_;
  const uint8_t flags =
      null ? static_cast<uint8_t>(frame.flags | HeldFragments::kNullPayload) : frame.flags;
  RecordSink::Written written{0, false};
  if (sink.held() == 0) {
    written = sink.write(flags, deferred_, frame.payload, frame.payload_length);
  }
  if (written.complete) {
    returnCredit(frame.reserved);
    return;
  }
  // The sink may have gone away inside write (its call ended): then nothing is held.
  if (sink_ != &sink) {
    returnCredit(frame.reserved);
    return;
  }
  const uint8_t tail_flags =
      written.taken > 0 ? static_cast<uint8_t>(flags & ~ZB_DATA_INIT) : flags;
  if (!held_.push(sink, tail_flags, deferred_, null ? nullptr : frame.payload + written.taken,
                  null ? 0 : frame.payload_length - written.taken, frame.reserved)) {
    // Only possible when the kafka binding overran the window it was granted.
    server_.metrics().error(ErrorReason::kBadFrame);
    server_.host().logf(ZB_LOG_ERROR, "%s: fetch stream overran its window; fragment dropped",
                        server_.label().c_str());
    returnCredit(frame.reserved);
  }
}

void FetchStream::endRecord() {
  if (record_.valid()) {
    if (const auto progress = tracker_.received(record_)) {
      commit(*progress);
    }
  }
  in_record_ = false;
  sink_ = nullptr;
  record_ = OffsetTracker::Handle{};
}

void FetchStream::returnCredit(int64_t credit) {
  if (port_ != nullptr && credit > 0) {
    port_->in().consume(credit);
  }
}

void FetchStream::sendWindow() {
  // A stopping stream takes no more records: no more credit.
  if (port_ != nullptr && !server_.stopping() && !port_->readClosed() && port_->readOpened() &&
      port_->in().acknowledge() != window_sent_) {
    window_sent_ = port_->in().acknowledge();
    port_->doWindow();
  }
}

void FetchStream::drainFor(RecordSink& sink) {
  returnCredit(held_.drain(sink));
  sendWindow();
}

void FetchStream::dropFor(RecordSink& sink) {
  returnCredit(held_.drop(sink));
  sendWindow();
}

void FetchStream::settle(const OffsetTracker::Handle& record) {
  if (const auto progress = tracker_.settled(record)) {
    commit(*progress);
  }
}

void FetchStream::settle(const std::vector<OffsetTracker::Handle>& records) {
  // One commit per partition for the whole batch: the furthest point it reached.
  progress_.clear();
  for (const OffsetTracker::Handle& record : records) {
    if (const auto progress = tracker_.settled(record)) {
      auto same = std::find_if(progress_.begin(), progress_.end(),
                               [&](const auto& p) { return p.partition == progress->partition; });
      if (same != progress_.end()) {
        *same = *progress;
      } else {
        progress_.push_back(*progress);
      }
    }
  }
  for (const OffsetTracker::Progress& progress : progress_) {
    commit(progress);
  }
}

void FetchStream::commit(const OffsetTracker::Progress& progress) {
  if (port_ == nullptr || port_->writeClosed()) {
    return;
  }
  ExtensionUse use;
  auto lease = server_.writer();
  port_->doFlush(server_.extensions().commit(progress.partition, progress.offset, use, lease));
}

void FetchStream::unlink(CorrelatedCall& call) {
  calls_.erase(&call);
  if (sink_ == &call) {
    sink_ = nullptr;
  }
  const bool listed = call.linger_prev != nullptr || lingering_head_ == &call;
  if (listed) {
    (call.linger_prev != nullptr ? call.linger_prev->linger_next : lingering_head_) =
        call.linger_next;
    (call.linger_next != nullptr ? call.linger_next->linger_prev : lingering_tail_) =
        call.linger_prev;
    call.linger_prev = call.linger_next = nullptr;
    --lingering_;
  }
}

void FetchStream::retire(CorrelatedCall& call) { unlink(call); }

void FetchStream::linger(CorrelatedCall& call) {
  call.linger_prev = lingering_tail_;
  call.linger_next = nullptr;
  (lingering_tail_ != nullptr ? lingering_tail_->linger_next : lingering_head_) = &call;
  lingering_tail_ = &call;
  ++lingering_;
  const uint32_t bound = std::max<uint32_t>(64, 4 * server_.options().max_in_flight);
  if (lingering_ > bound) {
    // The oldest call goes back to the pool; its id stays known, so that its later records
    // open no second call.
    CorrelatedCall& oldest = *lingering_head_;
    if (answered_.add(oldest.correlationId())) {
      server_.metrics().error(ErrorReason::kForgotten);
      server_.host().logf(ZB_LOG_WARN,
                          "%s: more answered requests without a tombstone than kept (%zu): the "
                          "oldest is forgotten; a later record of it would open a new call",
                          server_.label().c_str(), answered_.capacity());
    }
    unlink(oldest);
    server_.recycle(oldest);
  }
}

void FetchStream::onFencedCallEnded(CorrelatedCall& call) {
  fenced_.erase(std::remove(fenced_.begin(), fenced_.end(), &call), fenced_.end());
  releaseDone();
  finishStopWhenDone();
}

void FetchStream::onPortFlush(StreamPort& port, const zb_frame_t& frame) {
  if (&port != port_) {
    return;
  }
  const zb::kafka::KafkaExtension* ext = sdk::readKafka(frame, server_.kafkaType());
  const zb::kafka::AssignmentFlushEx* flush =
      ext != nullptr ? ext->ex_as_AssignmentFlushEx() : nullptr;
  if (flush == nullptr) {
    server_.host().logf(ZB_LOG_DEBUG, "%s: FLUSH on the fetch stream of %s without an assignment",
                        server_.label().c_str(), when_.topic.c_str());
    return;
  }
  if (flush->assigned() != nullptr) {
    for (const int32_t partition : *flush->assigned()) {
      assigned(partition);
    }
  }
  if (flush->revoked() != nullptr) {
    for (const int32_t partition : *flush->revoked()) {
      revoked(partition);
    }
  }
  releaseDone();
  finishStopWhenDone();
}

bool FetchStream::revoking(int32_t partition) const {
  return std::find(revoking_.begin(), revoking_.end(), partition) != revoking_.end();
}

void FetchStream::assigned(int32_t partition) {
  if (revoking(partition) || tracker_.knows(partition)) {
    // Back before this stream released it (the kafka binding stopped waiting): whatever of the
    // earlier assignment still runs finishes, but commits nothing for the new one.
    leave(partition);
    for (CorrelatedCall* call : fenced_) {
      if (call->partition() == partition) {
        call->detach();
      }
    }
    fenced_.erase(std::remove_if(fenced_.begin(), fenced_.end(),
                                 [partition](const CorrelatedCall* call) {
                                   return call->partition() == partition;
                                 }),
                  fenced_.end());
    revoking_.erase(std::remove(revoking_.begin(), revoking_.end(), partition), revoking_.end());
  }
  tracker_.forget(partition);
}

void FetchStream::revoked(int32_t partition) {
  if (!revoking(partition)) {
    revoking_.push_back(partition);
    leave(partition);
  }
}

FetchStream::Left FetchStream::leave(int32_t partition) {
  Left left;
  orphans_.clear();
  calls_.forEach([this, partition](CorrelatedCall* call) {
    if (partition < 0 || call->partition() == partition) {
      orphans_.push_back(call);
    }
  });
  for (CorrelatedCall* call : orphans_) {
    const bool answered = call->phase() == CorrelatedCall::Phase::kReplied;
    if (call->leavePartition()) {
      fenced_.push_back(call);
      ++left.finishing;
    } else if (!answered) {
      ++left.cancelled;
    }
  }
  orphans_.clear();
  // Credit of the fragments dropped with the cancelled calls goes back.
  sendWindow();
  return left;
}

void FetchStream::releaseDone() {
  if (revoking_.empty() || port_ == nullptr || port_->writeClosed()) {
    return;
  }
  releasing_.clear();
  for (const int32_t partition : revoking_) {
    const bool busy = std::any_of(fenced_.begin(), fenced_.end(), [partition](const auto* call) {
      return call->partition() == partition;
    });
    if (!busy) {
      releasing_.push_back(partition);
    }
  }
  if (releasing_.empty()) {
    return;
  }
  for (const int32_t partition : releasing_) {
    revoking_.erase(std::remove(revoking_.begin(), revoking_.end(), partition), revoking_.end());
    tracker_.forget(partition);
  }
  sdk::Extension ext;
  auto lease = server_.writer();
  {
    flatbuffers::FlatBufferBuilder& fbb = lease->start();
    const auto release = zb::kafka::CreateConsumerReleaseExDirect(fbb, &releasing_);
    ext = lease->finishKafka(zb::kafka::CreateKafkaExtension(
                                 fbb, zb::kafka::KafkaEx::ConsumerReleaseEx, release.Union()),
                             server_.kafkaType());
  }
  port_->doFlush(ext);
}

void FetchStream::onPortEnd(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  if (!port.writeClosed()) {
    port.doEnd();
  }
  lost(server_.stopping() ? nullptr : "the fetch stream ended");
}

void FetchStream::onPortAbort(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  if (!port.writeClosed()) {
    port.doAbort();
  }
  lost("the fetch stream was aborted");
}

void FetchStream::onPortReset(StreamPort& port, const zb_frame_t& frame) {
  if (&port != port_) {
    return;
  }
  const zb::kafka::KafkaExtension* ext = sdk::readKafka(frame, server_.kafkaType());
  const zb::kafka::ResetEx* reset = ext != nullptr ? ext->ex_as_ResetEx() : nullptr;
  if (reset != nullptr) {
    server_.host().logf(ZB_LOG_WARN, "%s: fetch of %s refused: error %d %s",
                        server_.label().c_str(), when_.topic.c_str(), reset->error(),
                        std::string(sdk::textOf(reset->message())).c_str());
  }
  if (!port.readClosed()) {
    port.doReset();
  }
  lost("the fetch stream was reset");
}

void FetchStream::onPortReleased(StreamPort& port) {
  if (&port == port_) {
    port_ = nullptr;
    lost(server_.stopping() ? nullptr : "the fetch stream closed");
  }
}

void FetchStream::lost(const char* why) {
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->cancel();
  }
  window_sent_ = 0;
  if (why != nullptr) {
    server_.metrics().error(ErrorReason::kFetchLost);
    server_.host().logf(ZB_LOG_WARN, "%s: %s (topic %s)", server_.label().c_str(), why,
                        when_.topic.c_str());
  }
  // Every call of this stream loses its records (they will be delivered again); calls whose
  // request was still streaming are cancelled, answers under way finish.
  held_.clear();
  tracker_.clear();
  answered_.clear();
  revoking_.clear();
  size_t unfinished = fenced_.size();
  for (CorrelatedCall* call : fenced_) {
    call->detach();  // it finishes, but nothing of it is committed any more
  }
  fenced_.clear();
  if (dead_letter_) {
    dead_letter_->abandon();
  }
  in_record_ = false;
  sink_ = nullptr;
  record_ = OffsetTracker::Handle{};
  orphans_.clear();
  calls_.forEach([this](CorrelatedCall* call) { orphans_.push_back(call); });
  calls_.clear();
  for (CorrelatedCall* call = lingering_head_; call != nullptr;) {
    CorrelatedCall* next = call->linger_next;
    call->linger_prev = call->linger_next = nullptr;
    call = next;
  }
  lingering_head_ = lingering_tail_ = nullptr;
  lingering_ = 0;
  for (CorrelatedCall* call : orphans_) {
    if (call->phase() != CorrelatedCall::Phase::kReplied) {
      ++unfinished;
    }
    call->abandon();
  }
  orphans_.clear();
  if (server_.stopping() && unfinished > 0) {
    server_.host().logf(ZB_LOG_WARN,
                        "%s: stopped with %zu call(s) of %s unfinished (the drain timeout "
                        "passed): cancelled; their requests will be delivered again",
                        server_.label().c_str(), unfinished, when_.topic.c_str());
  }

  if (!server_.stopping() && reopen_timer_ == 0) {
    ++attempts_;
    reopen_timer_ = server_.schedule(server_.now() + server_.backoff(attempts_),
                                     RemoteServer::kReopenTimer, index_);
  }
}

}  // namespace zb::kafka_grpc
