#include "consumer_group.h"

#include <algorithm>
#include <cstring>

namespace zb::kafka_binding {

namespace {

// Records taken from librdkafka per drain before yielding to the engine's other work.
constexpr int kDrainBudget = 512;

void logError(const sdk::Host& host, const char* what, rd_kafka_error_t* error) {
  if (error != nullptr) {
    host.logf(ZB_LOG_WARN, "%s: %s", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
}

}  // namespace

ConsumerGroup::ConsumerGroup(const sdk::Host& host, std::string group_id, std::string name,
                             uint64_t wake_id, ClientMetrics& metrics)
    : KafkaHandle(host, std::move(name)),
      group_id_(std::move(group_id)),
      wake_id_(wake_id),
      metrics_(metrics) {}

std::unique_ptr<ConsumerGroup> ConsumerGroup::create(const sdk::Host& host,
                                                     const ClientOptions& options,
                                                     const std::string& bootstrap,
                                                     const std::string& group_id,
                                                     const std::string& client_id, uint64_t wake_id,
                                                     ClientMetrics& metrics, std::string& error) {
  std::unique_ptr<ConsumerGroup> group(new ConsumerGroup(
      host, group_id, "kafka consumer group '" + group_id + "'", wake_id, metrics));
  // The group's join state is only said in librdkafka's "cgrp" debug lines (joining_since_ns_).
  std::string debug;
  for (const auto& [name, value] : options.properties) {
    if (name == "debug") {
      debug = value;
    }
  }
  group->forward_debug_ = !debug.empty();
  if (debug.find("cgrp") == std::string::npos && debug.find("all") == std::string::npos) {
    debug += debug.empty() ? "cgrp" : ",cgrp";
  }
  rd_kafka_conf_t* conf =
      makeKafkaConf(options, bootstrap, HandleRole::kConsumer,
                    {{"group.id", group_id}, {"client.id", client_id}, {"debug", debug}}, error);
  if (conf == nullptr) {
    return nullptr;
  }
  group->installCallbacks(conf);
  rd_kafka_conf_set_rebalance_cb(conf, &ConsumerGroup::onRebalance);
  rd_kafka_conf_set_offset_commit_cb(conf, &ConsumerGroup::onCommit);
  // Before the handle: librdkafka's threads may post through it from then on.
  group->wake_ = std::make_unique<QueueWake>(host, kConsumerWake, wake_id);
  char reason[512];
  group->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
  if (group->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    error = std::string("kafka consumer: ") + reason;
    return nullptr;
  }
  rd_kafka_poll_set_consumer(group->rk_);
  group->consumer_queue_ = rd_kafka_queue_get_consumer(group->rk_);
  group->wake_->attach(group->consumer_queue_);
  // Events queued before the callback was attached would never wake the engine: drain once.
  group->wake_->postAgain();
  return group;
}

ConsumerGroup::~ConsumerGroup() {
  if (rk_ == nullptr) {
    return;
  }
  // What is done is committed before leaving; records still in flight are redelivered to
  // whoever gets their partitions next.
  if (revoking_ != nullptr) {
    finishRevoke(false);
  }
  commitSync();
  closing_ = true;
  QueueWake::detach(consumer_queue_);
  metrics_.assigned(-int64_t(cursors_.size()));
  for (auto& [key, cursor] : cursors_) {
    cursor->held->release();
    QueueWake::detach(cursor->queue);
    rd_kafka_queue_destroy(cursor->queue);
  }
  cursors_.clear();
  turns_.clear();
  for (auto& orphan : orphans_) {
    orphan->release();
  }
  orphans_.clear();
  rd_kafka_queue_destroy(consumer_queue_);
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

// ---- Streams

void ConsumerGroup::attach(FetchStream* stream) {
  streams_.push_back(stream);
  subscription_dirty_ = true;
  if (!draining_) {
    updateSubscription();
  }
}

void ConsumerGroup::onStreamClosed(FetchStream* stream) {
  closed_.push_back(stream);
  if (draining_) {
    redrain_ = true;
  } else {
    drain();
  }
}

void ConsumerGroup::forget(FetchStream* stream) {
  if (!draining_ && std::find(closed_.begin(), closed_.end(), stream) != closed_.end()) {
    processClosedStreams();
  }
  streams_.erase(std::remove(streams_.begin(), streams_.end(), stream), streams_.end());
}

void ConsumerGroup::processClosedStreams() {
  while (!closed_.empty()) {
    FetchStream* stream = closed_.back();
    closed_.pop_back();
    streams_.erase(std::remove(streams_.begin(), streams_.end(), stream), streams_.end());
    subscription_dirty_ = true;
    for (auto& [key, cursor] : cursors_) {
      // A closed stream holds nothing back.
      cursor->holders.erase(std::remove(cursor->holders.begin(), cursor->holders.end(), stream),
                            cursor->holders.end());
      HeldRecord& held = *cursor->held;
      if (held.target == stream) {
        if (held.started) {
          held.release();  // half-sent to a closed stream: the rewind below sends it again
        } else {
          held.target = nullptr;  // not sent yet: route it again
        }
      }
      // Records the stream got but did not finish are redelivered: the partition is rewound to
      // the first of them. Until then they hold commits back.
      int64_t lowest = -1;
      for (PartitionCursor::Outstanding& entry : cursor->outstanding) {
        if (entry.stream == stream) {
          if (!entry.done && lowest < 0) {
            lowest = entry.offset;
          }
          entry.stream = nullptr;
        }
      }
      if (lowest >= 0 && !cursor->revoking) {
        cursor->rewind_to = cursor->rewind_to < 0 ? lowest : std::min(cursor->rewind_to, lowest);
        redrain_ = true;
      }
    }
    orphans_.erase(std::remove_if(orphans_.begin(), orphans_.end(),
                                  [stream](const std::unique_ptr<HeldRecord>& orphan) {
                                    if (orphan->target != stream) {
                                      return false;
                                    }
                                    orphan->release();
                                    return true;
                                  }),
                   orphans_.end());
  }
}

void ConsumerGroup::onProgress(FetchStream* stream, int32_t partition, int64_t offset) {
  PartitionCursor* cursor = this->cursor(stream->topic(), partition);
  if (cursor == nullptr) {
    return;  // not ours (any more): its new owner starts from the committed offset
  }
  for (PartitionCursor::Outstanding& entry : cursor->outstanding) {
    if (entry.offset >= offset) {
      break;
    }
    if (entry.stream == stream) {
      entry.done = true;
    }
  }
  while (!cursor->outstanding.empty() && cursor->outstanding.front().done) {
    cursor->outstanding.pop_front();
  }
  if (!draining_) {
    commit();
  }
}

void ConsumerGroup::onRelease(FetchStream* stream, const std::vector<int32_t>& partitions) {
  for (const int32_t partition : partitions) {
    if (PartitionCursor* cursor = this->cursor(stream->topic(), partition)) {
      cursor->holders.erase(std::remove(cursor->holders.begin(), cursor->holders.end(), stream),
                            cursor->holders.end());
    }
  }
  if (revoking_ != nullptr && revokeReleased()) {
    drain();  // finishes the revoke once out of its loops
  }
}

void ConsumerGroup::onReleaseTimeout() {
  release_timer_ = 0;
  if (revoking_ != nullptr) {
    release_timed_out_ = true;
    drain();
  }
}

void ConsumerGroup::fail(rd_kafka_resp_err_t err, const char* reason) {
  if (failed_) {
    return;
  }
  failed_ = true;
  host().logf(ZB_LOG_ERROR, "%s failed: %s: %s", name().c_str(), rd_kafka_err2name(err), reason);
  const std::vector<FetchStream*> streams = streams_;
  for (FetchStream* stream : streams) {
    if (stream->live()) {
      stream->terminate(err, reason);
    }
  }
}

bool ConsumerGroup::onLibrdkafkaLog(int level, const char* facility, const char* message) {
  if (std::strcmp(facility, "CGRPJOINSTATE") == 0) {
    // "Group "<id>" changed join state <from> -> <to> (state <state>)"
    const char* arrow = std::strstr(message, " -> ");
    if (arrow != nullptr) {
      join_transitions_.fetch_add(1, std::memory_order_acq_rel);
      const std::string_view to(arrow + 4, std::strcspn(arrow + 4, " "));
      // Joined: a generation is settled (steady, or an assignment being applied). Any other
      // state (init, wait-join, wait-metadata, wait-sync) is part of a join.
      const bool joined = to == "steady" || to.find("assign") != std::string_view::npos;
      int64_t was;
      if (joined) {
        was = joining_since_ns_.exchange(0, std::memory_order_acq_rel);
      } else {
        was = 0;
        if (!joining_since_ns_.compare_exchange_strong(was, host().nowNs(),
                                                       std::memory_order_acq_rel)) {
          return level >= 7 && !forward_debug_;  // joining already
        }
      }
      if ((was != 0) == joined) {
        host().logf(ZB_LOG_DEBUG, "%s: %s the group (join state %.*s); commits %s", name().c_str(),
                    joined ? "joined" : "joining", static_cast<int>(to.size()), to.data(),
                    joined ? "resume" : "wait");
      }
      if (was != 0 && joined) {
        wake_->postAgain();  // progress held back during the join can be committed now
      }
    }
  }
  return level >= 7 && !forward_debug_;
}

void ConsumerGroup::joinExpected(uint64_t transitions_before) {
  // If the join state moved while our call was made, the watcher knows better than a guess.
  if (join_transitions_.load(std::memory_order_acquire) != transitions_before) {
    return;
  }
  int64_t none = 0;
  joining_since_ns_.compare_exchange_strong(none, host().nowNs(), std::memory_order_acq_rel);
}

bool ConsumerGroup::joining() const {
  const int64_t since = joining_since_ns_.load(std::memory_order_acquire);
  return since != 0 && host().nowNs() - since < kJoinGuardNs;
}

void ConsumerGroup::onClientError(rd_kafka_resp_err_t err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk_, fatal, sizeof fatal);
    fail(cause, fatal);
    return;
  }
  KafkaHandle::onClientError(err, reason);
}

// ---- Assignment

PartitionCursor* ConsumerGroup::cursor(const std::string& topic, int32_t partition) {
  const auto it = cursors_.find({topic, partition});
  return it != cursors_.end() ? it->second.get() : nullptr;
}

void ConsumerGroup::onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<ConsumerGroup*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!self->closing_) {
      self->assign(partitions);
    }
    const uint64_t transitions = self->join_transitions_.load(std::memory_order_acquire);
    if (cooperative) {
      logError(self->host(), "incremental assign", rd_kafka_incremental_assign(rk, partitions));
    } else {
      rd_kafka_assign(rk, partitions);
    }
    // After an assignment that follows a revoke librdkafka rejoins at once: a commit issued
    // before it has seen our call would go out after the JoinGroup.
    self->joinExpected(transitions);
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->host().logf(ZB_LOG_WARN, "%s: rebalance error: %s", self->name().c_str(),
                        rd_kafka_err2str(err));
    }
    // Lost partitions (the group moved on without us) are gone already: nothing to wait for.
    const bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
    self->revoke(partitions, cooperative, lost);
  }
  self->redrain_ = true;
}

void ConsumerGroup::assign(rd_kafka_topic_partition_list_t* partitions) {
  host().logf(ZB_LOG_INFO, "%s: rebalance: %d partition(s) assigned", name().c_str(),
              partitions->cnt);
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = partitions->elems[i];
    if (cursor(tp.topic, tp.partition) != nullptr) {
      continue;  // still held from an earlier round (a revoke that never completed)
    }
    auto cursor = std::make_unique<PartitionCursor>();
    cursor->topic = tp.topic;
    cursor->partition = tp.partition;
    // Split the partition's records from the consumer queue: they wait in librdkafka until the
    // stream they go to has credit, while events keep flowing on the consumer queue.
    cursor->queue = rd_kafka_queue_get_partition(rk_, tp.topic, tp.partition);
    if (cursor->queue == nullptr) {
      host().logf(ZB_LOG_WARN, "%s: no queue for %s[%d]", name().c_str(), tp.topic, tp.partition);
      continue;
    }
    rd_kafka_queue_forward(cursor->queue, nullptr);
    wake_->attach(cursor->queue);  // anything already queued is pumped: rebalances redrain
    host().logf(ZB_LOG_INFO, "%s: assigned %s[%d]", name().c_str(), tp.topic, tp.partition);
    metrics_.assigned(1);
    cursors_[{cursor->topic, cursor->partition}] = std::move(cursor);
  }
  rebuildTurns();
  notifyStreams(partitions, true);
}

void ConsumerGroup::revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative,
                           bool lost) {
  if (revoking_ != nullptr) {
    finishRevoke(false);  // librdkafka moved on: whatever was still held goes now
  }
  host().logf(ZB_LOG_INFO, "%s: rebalance: %d partition(s) revoked%s", name().c_str(),
              partitions != nullptr ? partitions->cnt : 0, lost ? " (lost)" : "");
  revoking_ = partitions != nullptr ? rd_kafka_topic_partition_list_copy(partitions)
                                    : rd_kafka_topic_partition_list_new(0);
  revoking_cooperative_ = cooperative;
  revoke_started_ns_ = host().nowNs();
  release_timed_out_ = false;
  for (int i = 0; i < revoking_->cnt; ++i) {
    PartitionCursor* cursor =
        this->cursor(revoking_->elems[i].topic, revoking_->elems[i].partition);
    if (cursor == nullptr) {
      continue;
    }
    cursor->revoking = true;
    cursor->rewind_to = -1;
    if (cursor->held->message != nullptr && !cursor->held->started) {
      cursor->held->release();  // not begun: its next owner delivers it
    }
  }
  if (lost) {
    // Commits would be refused: the records are the next owner's now.
    for (int i = 0; i < revoking_->cnt; ++i) {
      if (PartitionCursor* cursor =
              this->cursor(revoking_->elems[i].topic, revoking_->elems[i].partition)) {
        cursor->outstanding.clear();
        cursor->next = -1;
      }
    }
  }
  if (!closing_) {
    // Lost partitions are gone already, but their streams still start nothing more for them.
    notifyStreams(revoking_, false);
  }
  if (closing_ || lost || revokeReleased()) {
    finishRevoke(false);
    return;
  }
  release_timer_ = host().signalAt(revoke_started_ns_ + kReleaseTimeoutNs, wake_id_, kReleaseTimer);
}

void ConsumerGroup::notifyStreams(const rd_kafka_topic_partition_list_t* partitions,
                                  bool assigned) {
  // Streams can close (and be forgotten) while being told: work on a copy of the list.
  const std::vector<FetchStream*> streams = streams_;
  std::vector<int32_t> ids;
  for (FetchStream* stream : streams) {
    if (!stream->live()) {
      continue;
    }
    ids.clear();
    for (int i = 0; i < partitions->cnt; ++i) {
      if (stream->topic() == partitions->elems[i].topic) {
        ids.push_back(partitions->elems[i].partition);
      }
    }
    if (ids.empty()) {
      continue;
    }
    if (!assigned) {
      for (const int32_t id : ids) {
        if (PartitionCursor* cursor = this->cursor(stream->topic(), id)) {
          cursor->holders.push_back(stream);
        }
      }
    }
    stream->notifyAssignment(assigned ? ids : std::vector<int32_t>{},
                             assigned ? std::vector<int32_t>{} : ids);
  }
}

bool ConsumerGroup::revokeReleased() const {
  for (int i = 0; i < revoking_->cnt; ++i) {
    const auto it = cursors_.find({revoking_->elems[i].topic, revoking_->elems[i].partition});
    if (it != cursors_.end() && !it->second->holders.empty()) {
      return false;
    }
  }
  return true;
}

void ConsumerGroup::finishRevoke(bool timed_out) {
  rd_kafka_topic_partition_list_t* partitions = revoking_;
  revoking_ = nullptr;
  if (release_timer_ != 0) {
    host().signalCancel(release_timer_);
    release_timer_ = 0;
  }
  release_timed_out_ = false;
  // Commit what is done before the partitions move, and wait for it: the next owner starts
  // from it.
  rd_kafka_topic_partition_list_t* offsets = nullptr;
  size_t unreleased = 0;
  for (int i = 0; i < partitions->cnt; ++i) {
    PartitionCursor* cursor =
        this->cursor(partitions->elems[i].topic, partitions->elems[i].partition);
    if (cursor == nullptr) {
      continue;
    }
    unreleased += cursor->holders.size();
    const int64_t target = cursor->commitTarget();
    if (!closing_ && target >= 0 && target > cursor->confirmed) {
      if (offsets == nullptr) {
        offsets = rd_kafka_topic_partition_list_new(partitions->cnt);
      }
      rd_kafka_topic_partition_list_add(offsets, cursor->topic.c_str(), cursor->partition)->offset =
          target;
    }
  }
  if (offsets != nullptr) {
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      metrics_.commitFailed();
      host().logf(ZB_LOG_WARN, "%s: commit of revoked partitions: %s", name().c_str(),
                  rd_kafka_err2str(err));
    } else {
      metrics_.committed();
    }
    rd_kafka_topic_partition_list_destroy(offsets);
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    const auto it = cursors_.find({partitions->elems[i].topic, partitions->elems[i].partition});
    if (it == cursors_.end()) {
      continue;
    }
    host().logf(ZB_LOG_INFO, "%s: revoked %s[%d]", name().c_str(), it->first.first.c_str(),
                it->first.second);
    dropCursor(*it->second);
    cursors_.erase(it);
    metrics_.assigned(-1);
  }
  rebuildTurns();
  const int64_t waited_ms = (host().nowNs() - revoke_started_ns_) / 1'000'000;
  if (timed_out) {
    host().logf(ZB_LOG_WARN,
                "%s: %d partition(s) given up after waiting %lld ms for %zu stream(s) to "
                "release them; work still under way on them may be done again by their next owner",
                name().c_str(), partitions->cnt, static_cast<long long>(waited_ms), unreleased);
  } else if (partitions->cnt > 0) {
    host().logf(ZB_LOG_INFO, "%s: %d partition(s) released after %lld ms", name().c_str(),
                partitions->cnt, static_cast<long long>(waited_ms));
  }
  const uint64_t transitions = join_transitions_.load(std::memory_order_acquire);
  if (revoking_cooperative_) {
    logError(host(), "incremental unassign", rd_kafka_incremental_unassign(rk_, partitions));
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
  // A rejoin follows (at once for an eager unassign, after the assign else).
  joinExpected(transitions);
  rd_kafka_topic_partition_list_destroy(partitions);
  redrain_ = true;
}

void ConsumerGroup::dropCursor(PartitionCursor& cursor) {
  HeldRecord& held = *cursor.held;
  if (held.message != nullptr && held.started && held.target != nullptr && held.target->live()) {
    // Its stream has the first fragments: finish the record, uncommitted (the partition's next
    // owner delivers it again).
    orphans_.push_back(std::move(cursor.held));
    cursor.held = std::make_unique<HeldRecord>();
  } else {
    held.release();
  }
  QueueWake::detach(cursor.queue);
  rd_kafka_queue_destroy(cursor.queue);
  cursor.queue = nullptr;
}

void ConsumerGroup::rebuildTurns() {
  turns_.clear();
  for (auto& [key, cursor] : cursors_) {
    turns_.push_back(cursor.get());
  }
  if (turn_ >= turns_.size()) {
    turn_ = 0;
  }
}

// ---- Draining

void ConsumerGroup::drain() {
  if (draining_) {
    redrain_ = true;
    return;
  }
  draining_ = true;
  wake_->rearm();
  int budget = kDrainBudget;
  bool exhausted = false;
  do {
    redrain_ = false;
    serveEvents();
    processClosedStreams();
    pumpOrphans();
    exhausted = pumpInTurns(budget);
    processClosedStreams();
    // Cursors are only dropped out here, never under the loops above.
    if (revoking_ != nullptr && (release_timed_out_ || revokeReleased())) {
      finishRevoke(release_timed_out_);
    }
  } while (redrain_ && !exhausted && !failed_);
  commit();
  updateSubscription();
  draining_ = false;
  if (exhausted || redrain_) {
    wake_->postAgain();  // more to do: continue after the engine's other work
  }
}

bool ConsumerGroup::pumpInTurns(int& budget) {
  // One record per partition per turn; the round ends when every partition in a row had nothing
  // it could deliver.
  size_t idle = 0;
  while (!turns_.empty() && idle < turns_.size()) {
    if (turn_ >= turns_.size()) {
      turn_ = 0;
    }
    PartitionCursor& cursor = *turns_[turn_];
    turn_ = (turn_ + 1) % turns_.size();
    switch (pump(cursor, budget)) {
      case Pump::kDelivered:
        idle = 0;
        break;
      case Pump::kIdle:
        ++idle;
        break;
      case Pump::kBudget:
        return true;
    }
  }
  return false;
}

void ConsumerGroup::serveEvents() {
  while (!failed_) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk_, 0);
    if (message == nullptr) {
      return;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        host().logf(ZB_LOG_WARN, "%s: %s", name().c_str(), rd_kafka_message_errstr(message));
      }
      if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
        onClientError(RD_KAFKA_RESP_ERR__FATAL, rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
      continue;
    }
    // A record fetched before its partition's queue was split off: deliver it first, or, when
    // that cannot keep the order, fetch the partition again from it.
    PartitionCursor* cursor = this->cursor(rd_kafka_topic_name(message->rkt), message->partition);
    if (cursor != nullptr && cursor->held->message == nullptr && cursor->next <= message->offset) {
      cursor->held->message = message;
    } else {
      if (cursor != nullptr) {
        cursor->rewind_to =
            cursor->rewind_to < 0 ? message->offset : std::min(cursor->rewind_to, message->offset);
      }
      rd_kafka_message_destroy(message);
    }
  }
}

FetchStream* ConsumerGroup::route(const std::string& topic, const rd_kafka_message_t& record,
                                  std::string_view& reason) {
  const rd_kafka_headers_t* headers = nullptr;
  bool parsed = false;
  for (FetchStream* stream : streams_) {
    if (!stream->live() || stream->topic() != topic) {
      continue;
    }
    if (stream->filter().needsHeaders() && !parsed) {
      rd_kafka_headers_t* parsed_headers = nullptr;
      if (rd_kafka_message_headers(&record, &parsed_headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        headers = parsed_headers;
      }
      parsed = true;
    }
    const std::string_view mismatch = stream->filter().mismatch(record, headers);
    if (mismatch.empty()) {
      return stream;
    }
    reason = mismatch;
  }
  return nullptr;
}

void ConsumerGroup::skipped(const PartitionCursor& cursor, const rd_kafka_message_t& record,
                            std::string_view reason) {
  skip_key_.assign(cursor.topic);
  skip_key_.push_back('\0');
  skip_key_.append(reason);
  auto found = skips_.find(skip_key_);
  if (found == skips_.end()) {
    found = skips_.emplace(skip_key_, Skips{}).first;
    found->second.series = metrics_.skippedSeries(cursor.topic, reason);
  }
  Skips& log = found->second;
  metrics_.skipped(log.series);
  // Common when several groups share a topic: one line per topic and reason every 10 s at most.
  const int64_t now = host().nowNs();
  if (log.logged_ns != 0 && now - log.logged_ns < 10'000'000'000) {
    ++log.unlogged;
    return;
  }
  host().logf(ZB_LOG_INFO,
              "%s: %s[%d]@%lld skipped, no stream takes it (%.*s does not match); committed "
              "unanswered here, a consumer of another group may serve it (%llu more skipped "
              "like it since the last line)",
              name().c_str(), cursor.topic.c_str(), cursor.partition,
              static_cast<long long>(record.offset), static_cast<int>(reason.size()), reason.data(),
              static_cast<unsigned long long>(log.unlogged));
  log.logged_ns = now;
  log.unlogged = 0;
}

ConsumerGroup::Pump ConsumerGroup::pump(PartitionCursor& cursor, int& budget) {
  HeldRecord& held = *cursor.held;
  while (true) {
    const bool half_sent = held.message != nullptr && held.started;
    if (cursor.revoking && !half_sent) {
      return Pump::kIdle;  // only the rest of a record already begun goes out
    }
    if (cursor.rewind_to >= 0 && !half_sent) {
      rewind(cursor);
    }
    if (held.message == nullptr) {
      if (budget <= 0) {
        return Pump::kBudget;
      }
      held.message = rd_kafka_consume_queue(cursor.queue, 0);
      if (held.message == nullptr) {
        return Pump::kIdle;
      }
      --budget;
      if (held.message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (held.message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          host().logf(ZB_LOG_WARN, "%s: %s[%d]: %s", name().c_str(), cursor.topic.c_str(),
                      cursor.partition, rd_kafka_message_errstr(held.message));
        }
        held.release();
        continue;
      }
      if (cursor.next < 0) {
        // The first record of the assignment sits at the group's committed position (or where
        // auto.offset.reset put it): committing up to it again would say nothing new.
        cursor.committed = cursor.confirmed = held.message->offset;
      }
    }
    if (held.target == nullptr) {
      const bool topic_wanted = std::any_of(
          streams_.begin(), streams_.end(),
          [&](FetchStream* stream) { return stream->live() && stream->topic() == cursor.topic; });
      if (!topic_wanted) {
        return Pump::kIdle;  // no stream takes this topic now: hold the record, commit nothing
      }
      std::string_view reason;
      held.target = route(cursor.topic, *held.message, reason);
      if (held.target == nullptr) {
        // No stream wants it: done, committed once every record before it is done.
        cursor.next = held.message->offset + 1;
        skipped(cursor, *held.message, reason);
        held.release();
        continue;
      }
    }
    FetchStream* target = held.target;
    if (!target->live()) {
      return Pump::kIdle;  // closed during delivery: processClosedStreams() sorts it out
    }
    if (!held.started) {
      if (!target->canStart(held)) {
        return Pump::kIdle;
      }
      cursor.outstanding.push_back({held.message->offset, target, false});
      cursor.next = held.message->offset + 1;
      metrics_.fetched();
    }
    if (!target->deliver(held)) {
      return Pump::kIdle;
    }
    held.release();
    return Pump::kDelivered;
  }
}

void ConsumerGroup::pumpOrphans() {
  for (size_t i = 0; i < orphans_.size();) {
    HeldRecord& orphan = *orphans_[i];
    if (orphan.target == nullptr || !orphan.target->live() || orphan.target->deliver(orphan)) {
      orphan.release();
      orphans_.erase(orphans_.begin() + ptrdiff_t(i));
    } else {
      ++i;
    }
  }
}

void ConsumerGroup::rewind(PartitionCursor& cursor) {
  const int64_t offset = cursor.rewindTarget();
  cursor.rewind_to = -1;
  cursor.held->release();
  while (!cursor.outstanding.empty() && cursor.outstanding.back().offset >= offset) {
    cursor.outstanding.pop_back();
  }
  cursor.next = offset;
  rd_kafka_topic_partition_list_t* position = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(position, cursor.topic.c_str(), cursor.partition)->offset =
      offset;
  logError(host(), "seek", rd_kafka_seek_partitions(rk_, position, 0));
  rd_kafka_topic_partition_list_destroy(position);
  host().logf(ZB_LOG_INFO, "%s: %s[%d] rewound to offset %lld for redelivery", name().c_str(),
              cursor.topic.c_str(), cursor.partition, static_cast<long long>(offset));
}

// ---- Commits

void ConsumerGroup::commit() {
  if (commit_in_flight_ || failed_ || rk_ == nullptr) {
    return;
  }
  if (joining()) {
    // Committed once the join is seen to end (the watcher wakes us), or at the guard's end.
    const int64_t retry_at =
        joining_since_ns_.load(std::memory_order_acquire) + kJoinGuardNs + 1'000'000;
    if (retry_at > join_retry_at_ns_) {
      join_retry_at_ns_ = retry_at;
      host().signalAt(retry_at, wake_id_, kConsumerWake);
    }
    return;
  }
  rd_kafka_topic_partition_list_t* offsets = offsetsBeyond(&PartitionCursor::committed);
  if (offsets == nullptr) {
    return;
  }
  for (int i = 0; i < offsets->cnt; ++i) {
    if (PartitionCursor* cursor =
            this->cursor(offsets->elems[i].topic, offsets->elems[i].partition)) {
      cursor->committed = offsets->elems[i].offset;
    }
  }
  const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    host().logf(ZB_LOG_WARN, "%s: commit: %s", name().c_str(), rd_kafka_err2str(err));
    for (int i = 0; i < offsets->cnt; ++i) {
      if (PartitionCursor* cursor =
              this->cursor(offsets->elems[i].topic, offsets->elems[i].partition)) {
        cursor->committed = cursor->confirmed;
      }
    }
  } else {
    commit_in_flight_ = true;
    metrics_.committed();
  }
  rd_kafka_topic_partition_list_destroy(offsets);
}

rd_kafka_topic_partition_list_t* ConsumerGroup::offsetsBeyond(int64_t PartitionCursor::*floor) {
  rd_kafka_topic_partition_list_t* offsets = nullptr;
  for (auto& [key, cursor] : cursors_) {
    const int64_t target = cursor->commitTarget();
    if (target >= 0 && target > (*cursor).*floor) {
      if (offsets == nullptr) {
        offsets = rd_kafka_topic_partition_list_new(int(cursors_.size()));
      }
      rd_kafka_topic_partition_list_add(offsets, cursor->topic.c_str(), cursor->partition)->offset =
          target;
    }
  }
  return offsets;
}

void ConsumerGroup::commitSync() {
  if (failed_ || rk_ == nullptr) {
    return;
  }
  rd_kafka_topic_partition_list_t* offsets = offsetsBeyond(&PartitionCursor::confirmed);
  if (offsets == nullptr) {
    return;
  }
  const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets, 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    host().logf(ZB_LOG_WARN, "%s: final commit: %s", name().c_str(), rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(offsets);
}

void ConsumerGroup::onCommit(rd_kafka_t*, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* self = static_cast<ConsumerGroup*>(opaque);
  self->commit_in_flight_ = false;
  if (self->closing_ || offsets == nullptr) {
    return;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    self->metrics_.commitFailed();
    self->host().logf(ZB_LOG_WARN, "%s: commit failed: %s", self->name().c_str(),
                      rd_kafka_err2str(err));
  }
  for (int i = 0; i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = offsets->elems[i];
    PartitionCursor* cursor = self->cursor(tp.topic, tp.partition);
    if (cursor == nullptr) {
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (cursor->committed == tp.offset) {
        cursor->committed = cursor->confirmed;  // try again with the next commit
      }
    } else {
      cursor->confirmed = std::max(cursor->confirmed, tp.offset);
    }
  }
  self->redrain_ = true;
}

void ConsumerGroup::updateSubscription() {
  if (!subscription_dirty_ || failed_) {
    return;
  }
  subscription_dirty_ = false;
  std::vector<std::string> topics;
  for (FetchStream* stream : streams_) {
    if (stream->live() &&
        std::find(topics.begin(), topics.end(), stream->topic()) == topics.end()) {
      topics.push_back(stream->topic());
    }
  }
  std::sort(topics.begin(), topics.end());
  if (topics == subscription_) {
    return;
  }
  subscription_ = topics;
  if (topics.empty()) {
    rd_kafka_unsubscribe(rk_);
    host().logf(ZB_LOG_INFO, "%s: unsubscribed", name().c_str());
    return;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(int(topics.size()));
  std::string names;
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
    names += names.empty() ? topic : ", " + topic;
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    host().logf(ZB_LOG_ERROR, "%s: subscribe to %s: %s", name().c_str(), names.c_str(),
                rd_kafka_err2str(err));
    return;
  }
  host().logf(ZB_LOG_INFO, "%s: subscribed to %s", name().c_str(), names.c_str());
}

}  // namespace zb::kafka_binding
