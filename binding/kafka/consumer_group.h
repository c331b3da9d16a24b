// One librdkafka consumer per consumer group id, shared by every fetch stream that names the
// group: subscribed to the union of their topics, it routes each record to the first stream of
// its topic whose filters match, and commits offsets as the streams report progress.
//
// Records wait in librdkafka's per-partition queues (split from the consumer queue) until the
// stream they go to has credit, so back-pressure reaches the fetcher; the partitions take turns,
// one record each, so a backlog on one never holds back another. librdkafka's threads only post a
// wake-up; every call below runs on the engine thread.
//
// Rebalances are cooperative by default. The streams of a topic are told which partitions they
// gain and lose (FLUSH with AssignmentFlushEx); a revoked partition is given up only once each of
// them has released it (ConsumerReleaseEx), after its last progress, or after kReleaseTimeout:
// work started on it is finished and committed here, not repeated by the next owner.
#pragma once

#include "config.h"
#include "kafka_handle.h"
#include "metrics.h"
#include "stream_fetch.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::kafka_binding {

// An assigned partition: its queue, the record on its way out, and what is still to commit.
struct PartitionCursor {
  // A record delivered to a stream and not yet covered by that stream's progress.
  struct Outstanding {
    int64_t offset;
    FetchStream* stream;
    bool done;
  };

  std::string topic;
  int32_t partition = 0;
  rd_kafka_queue_t* queue = nullptr;
  std::unique_ptr<HeldRecord> held = std::make_unique<HeldRecord>();
  std::deque<Outstanding> outstanding;  // in offset order
  int64_t next = -1;       // offset after the last record routed (delivered or unwanted)
  int64_t committed = -1;  // last offset a commit was sent for
  int64_t confirmed = -1;  // last offset the broker confirmed
  int64_t rewind_to = -1;  // pending seek back, after a stream closed with records in flight
  // Revoked: no record of it starts any more; the streams that must release it first.
  bool revoking = false;
  std::vector<FetchStream*> holders;

  // The offset up to which every record is done: the first outstanding one, else `next`.
  int64_t commitTarget() const { return outstanding.empty() ? next : outstanding.front().offset; }
  // Where a seek back to `rewind_to` must go so that no record is skipped: never beyond the first
  // record not yet routed (`next`, or the held record when none was routed yet).
  int64_t rewindTarget() const {
    if (next >= 0) {
      return std::min(rewind_to, next);
    }
    return held->message != nullptr ? std::min(rewind_to, held->message->offset) : rewind_to;
  }
};

class ConsumerGroup final : public KafkaHandle {
 public:
  // Creates the consumer (not yet subscribed). `wake_id` is the signal target the binding maps
  // back to this group. Returns nullptr with `error` when librdkafka refuses the config.
  static std::unique_ptr<ConsumerGroup> create(const sdk::Host& host, const ClientOptions& options,
                                               const std::string& bootstrap,
                                               const std::string& group_id,
                                               const std::string& client_id, uint64_t wake_id,
                                               ClientMetrics& metrics, std::string& error);
  ~ConsumerGroup() override;

  const std::string& groupId() const { return group_id_; }
  bool failed() const { return failed_; }

  // A stream joins (after its reply BEGIN) or has closed. Thread: engine.
  void attach(FetchStream* stream);
  void onStreamClosed(FetchStream* stream);
  // The stream is being freed: no reference to it may remain.
  void forget(FetchStream* stream);
  // The stream reports progress: every record it got from `partition` below `offset` is done.
  void onProgress(FetchStream* stream, int32_t partition, int64_t offset);
  // The stream is done with these revoked partitions of its topic.
  void onRelease(FetchStream* stream, const std::vector<int32_t>& partitions);
  // A revoke waited kReleaseTimeoutNs for its streams: the partitions go now.
  void onReleaseTimeout();
  // Serves librdkafka events and delivers what the streams' windows allow. Re-entrant calls
  // (from a stream's hook during delivery) are folded into the running one.
  void drain();

  // Test and diagnostics: the partitions currently assigned.
  size_t assignedPartitions() const { return cursors_.size(); }

  // How long a revoke waits for the streams to release its partitions.
  static constexpr int64_t kReleaseTimeoutNs = 30'000'000'000;

 protected:
  void onClientError(rd_kafka_resp_err_t err, const char* reason) override;
  // Watches the group's join state (librdkafka's "cgrp" debug lines), see joining_since_ns_.
  bool onLibrdkafkaLog(int level, const char* facility, const char* message) override;

 private:
  ConsumerGroup(const sdk::Host& host, std::string group_id, std::string name, uint64_t wake_id,
                ClientMetrics& metrics);

  static void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void onCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);

  void assign(rd_kafka_topic_partition_list_t* partitions);
  // Starts giving `partitions` up: at once when nothing holds them (or `lost`, or closing),
  // else once every stream of their topics has released them.
  void revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative, bool lost);
  // Tells the live streams of each topic in `partitions` what they gained or lose; the streams
  // told of a revoked partition become its holders.
  void notifyStreams(const rd_kafka_topic_partition_list_t* partitions, bool assigned);
  // Whether the pending revoke's partitions are released by every stream that held them.
  bool revokeReleased() const;
  // Commits what is done on the revoking partitions, drops them and tells librdkafka.
  void finishRevoke(bool timed_out);
  void dropCursor(PartitionCursor& cursor);
  void rebuildTurns();
  PartitionCursor* cursor(const std::string& topic, int32_t partition);

  void serveEvents();
  enum class Pump { kDelivered, kIdle, kBudget };
  // Delivers at most one record of one partition (or the rest of a half-sent one).
  Pump pump(PartitionCursor& cursor, int& budget);
  // Gives every partition a turn, one record each, until none can deliver; returns true when the
  // budget ran out.
  bool pumpInTurns(int& budget);
  void pumpOrphans();
  // The first live stream of `topic` whose filter takes `record`; nullptr with `reason` (what
  // the last stream of the topic did not match) when none does.
  FetchStream* route(const std::string& topic, const rd_kafka_message_t& record,
                     std::string_view& reason);
  // A record no stream takes: counted by topic and reason, logged at most every few seconds.
  void skipped(const PartitionCursor& cursor, const rd_kafka_message_t& record,
               std::string_view reason);
  void rewind(PartitionCursor& cursor);
  void processClosedStreams();
  void commit();
  // Commits what is done and waits for the broker's answer (leaving, or giving partitions up).
  void commitSync();
  // The commit targets of the partitions whose target passed `floor` (committed or confirmed),
  // or nullptr when none did. The caller destroys the list.
  rd_kafka_topic_partition_list_t* offsetsBeyond(int64_t PartitionCursor::*floor);
  void updateSubscription();
  void fail(rd_kafka_resp_err_t err, const char* reason);

  std::string group_id_;
  uint64_t wake_id_;
  ClientMetrics& metrics_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* consumer_queue_ = nullptr;
  std::unique_ptr<QueueWake> wake_;

  std::vector<FetchStream*> streams_;  // in BEGIN order; routing takes the first match
  std::vector<FetchStream*> closed_;   // closed, not yet purged from the cursors
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<PartitionCursor>> cursors_;
  // Half-sent records of revoked partitions, finished so their streams see whole records.
  std::vector<std::unique_ptr<HeldRecord>> orphans_;
  std::vector<std::string> subscription_;
  // The partitions in turn order, and whose turn is next.
  std::vector<PartitionCursor*> turns_;
  size_t turn_ = 0;

  // The revoke waiting for its streams' releases (a copy of librdkafka's list, for the unassign).
  rd_kafka_topic_partition_list_t* revoking_ = nullptr;
  bool revoking_cooperative_ = false;
  int64_t revoke_started_ns_ = 0;
  uint64_t release_timer_ = 0;
  bool release_timed_out_ = false;

  // Skipped records by topic and reason ("<topic>\0<reason>"): their metric series, the last
  // time they were logged, and how many since. Looked up with skip_key_, reused.
  struct Skips {
    uint32_t series = 0;
    int64_t logged_ns = 0;
    uint64_t unlogged = 0;
  };
  std::map<std::string, Skips, std::less<>> skips_;
  std::string skip_key_;

  // Since when the member is (re)joining its group (host clock; 0: it is not): from the moment a
  // rejoin is due until the join's SyncGroup is answered. An offset commit sent then may carry
  // the generation the join is ending, and librdkafka before 2.10 (#4059) takes the broker's
  // ILLEGAL_GENERATION answer for a lost assignment: every partition dropped at once, work in
  // flight redone elsewhere. So async commits wait (at most kJoinGuardNs, should a join not be
  // seen to end). Set from librdkafka's thread (its join state) and the engine thread (a rejoin
  // our assign or unassign call sets off), read on the engine thread.
  std::atomic<int64_t> joining_since_ns_{0};
  static constexpr int64_t kJoinGuardNs = 3'000'000'000;
  // A rejoin is due after our assign or unassign call, unless the join state moved during it.
  void joinExpected(uint64_t transitions_before);
  bool joining() const;
  std::atomic<uint64_t> join_transitions_{0};  // join state changes seen
  int64_t join_retry_at_ns_ = 0;               // a wake-up is set for then (engine thread)
  // librdkafka's debug lines are on only for the join state: the others are not forwarded.
  bool forward_debug_ = false;

  bool draining_ = false;
  bool redrain_ = false;
  bool subscription_dirty_ = false;
  bool commit_in_flight_ = false;
  bool failed_ = false;
  bool closing_ = false;
};

}  // namespace zb::kafka_binding
