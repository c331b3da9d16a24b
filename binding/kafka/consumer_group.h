// One librdkafka consumer per consumer group id, shared by every fetch stream that names the
// group: subscribed to the union of their topics, it routes each record to the first stream of
// its topic whose filters match, and commits offsets as the streams report progress.
//
// Records wait in librdkafka's per-partition queues (split from the consumer queue) until the
// stream they go to has credit, so back-pressure reaches the fetcher; librdkafka's threads only
// post a wake-up; every call below runs on the engine thread.
#pragma once

#include "config.h"
#include "kafka_handle.h"
#include "metrics.h"
#include "stream_fetch.h"

#include <librdkafka/rdkafka.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
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

  // The offset up to which every record is done: the first outstanding one, else `next`.
  int64_t commitTarget() const { return outstanding.empty() ? next : outstanding.front().offset; }
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
  // Serves librdkafka events and delivers what the streams' windows allow. Re-entrant calls
  // (from a stream's hook during delivery) are folded into the running one.
  void drain();
  // The binding stops: END every stream's reply.
  void stop();

  // Test and diagnostics: the partitions currently assigned.
  size_t assignedPartitions() const { return cursors_.size(); }

 protected:
  void onClientError(rd_kafka_resp_err_t err, const char* reason) override;

 private:
  ConsumerGroup(const sdk::Host& host, std::string group_id, std::string name, uint64_t wake_id,
                ClientMetrics& metrics);

  static void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void onCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);

  void assign(rd_kafka_topic_partition_list_t* partitions);
  void revoke(rd_kafka_topic_partition_list_t* partitions);
  void dropCursor(PartitionCursor& cursor);
  PartitionCursor* cursor(const std::string& topic, int32_t partition);

  void serveEvents();
  // Delivers from one partition; returns false when the budget ran out.
  bool pump(PartitionCursor& cursor, int& budget);
  void pumpOrphans();
  FetchStream* route(const std::string& topic, const rd_kafka_message_t& record);
  void rewind(PartitionCursor& cursor);
  void processClosedStreams();
  void commit();
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

  bool draining_ = false;
  bool redrain_ = false;
  bool subscription_dirty_ = false;
  bool commit_in_flight_ = false;
  bool failed_ = false;
  bool closing_ = false;
};

}  // namespace zb::kafka_binding
