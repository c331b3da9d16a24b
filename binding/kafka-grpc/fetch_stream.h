// One merged FETCH stream to the entry (kafka) binding, for one `when` of a route: the topic,
// the consumer group and the ANDed key / header / service / method / reply-to filter.
//
// Each record is routed by its own correlation id to the call of that id (opening one on its
// first record); continuation fragments belong to the record in progress. Bytes a call cannot
// take yet are held, bounded by the fetch window; the window's credit of a fragment is returned
// as soon as it is passed on or dropped, whatever happens to the record. Offsets are committed
// (FLUSH with consumer progress) as the OffsetTracker allows.
//
// When the stream ends or fails it is reopened with backoff; calls whose request was still
// streaming are cancelled (their records will be delivered again), answers under way finish.
//
// Partitions come and go with the consumer group (FLUSH with AssignmentFlushEx). When one is
// revoked, or the binding stops, the calls of its records leave it (CorrelatedCall::
// leavePartition): those not yet at the service are cancelled and left for the next owner, those
// whose whole request is at the service finish here and are committed; then the partition is
// released (FLUSH with ConsumerReleaseEx), and a stopping stream ENDs. A record of a partition
// that was already delivered on this stream (fetched again) is passed to no call.
//
// Thread: engine.
#pragma once

#include "answered_ids.h"
#include "correlation_index.h"
#include "dead_letter.h"
#include "held_fragments.h"
#include "offset_tracker.h"
#include "request_headers.h"
#include "stream_port.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace zb::kafka_grpc {

class CorrelatedCall;
class RemoteServer;
struct Condition;
struct Route;

class FetchStream final : public PortListener {
 public:
  // The credit granted to the kafka binding, and the padding per DATA frame (covers the cost of
  // holding a fragment, see HeldFragments).
  static constexpr int32_t kWindow = 65536;
  static constexpr int32_t kPadding = static_cast<int32_t>(HeldFragments::kEntryOverhead);

  FetchStream(RemoteServer& server, const Route& route, const Condition& when, uint32_t index);

  // What leaving a partition (or stopping) did to the calls of its records.
  struct Left {
    size_t finishing = 0;  // at the service with their whole request: they finish here
    size_t cancelled = 0;  // not started, or their request incomplete: left for redelivery
  };

  void open();
  // The binding stops: the calls leave their partitions, then the stream ENDs once those that
  // finish here are done.
  Left stop();
  void onReopenTimer();

  const Route& route() const { return route_; }
  const Condition& condition() const { return when_; }
  uint32_t index() const { return index_; }

  // ---- For calls.
  // Credit came for `sink`: pass its held fragments on.
  void drainFor(RecordSink& sink);
  // `sink` takes no more bytes: drop its held fragments.
  void dropFor(RecordSink& sink);
  // A record's outcome is final.
  void settle(const OffsetTracker::Handle& record);
  // The outcome of each of these records is final (one commit per partition at most).
  void settle(const std::vector<OffsetTracker::Handle>& records);
  // The call is answered and its tombstone already arrived: it leaves the index.
  void retire(CorrelatedCall& call);
  // The call is answered but its tombstone has not arrived: later records of its id are
  // absorbed by it, up to a bound on such calls.
  void linger(CorrelatedCall& call);
  // A call that left its partition but went on (CorrelatedCall::leavePartition) is done.
  void onFencedCallEnded(CorrelatedCall& call);
  // A stopping stream ENDs once its fenced calls and dead letters are done (for those).
  void finishStopWhenDone();

 private:
  void onPortBegin(StreamPort& port, const zb_frame_t& frame) override;
  void onPortData(StreamPort& port, const zb_frame_t& frame) override;
  void onPortEnd(StreamPort& port, const zb_frame_t& frame) override;
  void onPortAbort(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReset(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReleased(StreamPort& port) override;
  void onPortFlush(StreamPort& port, const zb_frame_t& frame) override;

  // The consumer group gave this consumer `partition`: what was known of it is forgotten.
  void assigned(int32_t partition);
  // The consumer group takes `partition` away.
  void revoked(int32_t partition);
  // Every call of `partition` (of every partition when negative) leaves it.
  Left leave(int32_t partition);
  bool revoking(int32_t partition) const;
  // Releases the revoked partitions whose fenced calls are all done.
  void releaseDone();

  void beginRecord(const zb_frame_t& frame);
  void deliver(const zb_frame_t& frame);
  void endRecord();
  void returnCredit(int64_t credit);
  void sendWindow();
  void commit(const OffsetTracker::Progress& progress);
  void lost(const char* why);
  void unlink(CorrelatedCall& call);

  RemoteServer& server_;
  const Route& route_;
  const Condition& when_;
  const uint32_t index_;

  StreamPort* port_ = nullptr;
  uint32_t attempts_ = 0;
  uint64_t reopen_timer_ = 0;

  OffsetTracker tracker_;
  HeldFragments held_;
  CorrelationIndex<CorrelatedCall> calls_;
  RequestHeaders headers_;
  std::unique_ptr<DeadLetterProducer> dead_letter_;  // when dead-letter-topic is configured

  // The record whose fragments are arriving.
  bool in_record_ = false;
  OffsetTracker::Handle record_;
  RecordSink* sink_ = nullptr;  // nullptr: its bytes are dropped
  int32_t deferred_ = 0;        // from the record's INIT fragment
  int64_t window_sent_ = 0;     // acknowledge of the last WINDOW sent

  AnsweredIds answered_;  // lingering calls let go before their tombstone
  CorrelatedCall* lingering_head_ = nullptr;
  CorrelatedCall* lingering_tail_ = nullptr;
  uint32_t lingering_ = 0;
  std::vector<int32_t> revoking_;                  // revoked, not released yet
  std::vector<CorrelatedCall*> fenced_;            // left their partition, still finishing
  std::vector<int32_t> releasing_;                 // scratch for releaseDone()
  std::vector<CorrelatedCall*> orphans_;           // scratch for lost() and leave()
  std::vector<OffsetTracker::Progress> progress_;  // scratch for settle()
};

}  // namespace zb::kafka_grpc
