// Credit-based flow control for one direction of a stream, from each side's point of view.
//
// The writer of a direction keeps a SendWindow: it may send DATA with reserved = length + padding
// while sequence + reserved <= acknowledge + maximum. The reader keeps a ReceiveWindow: it sees
// each DATA's reserved, and acknowledges what it has consumed with WINDOW frames.
#pragma once

#include <zb/abi.h>

#include <algorithm>
#include <cstdint>

namespace zb::sdk {

// The writer's view of a direction.
class SendWindow {
 public:
  // WINDOW from the reader. A window never moves backwards.
  void onWindow(const zb_frame_t& window) {
    ack_ = std::max(ack_, window.acknowledge);
    max_ = window.maximum;
    padding_ = window.padding;
    budget_id_ = window.budget_id;
    opened_ = true;
  }

  // Bytes of credit left, before padding.
  int64_t credit() const { return std::max<int64_t>(0, ack_ + max_ - seq_); }

  // Payload bytes that can go out in one DATA now (credit less padding), at most `wanted`.
  int64_t sendable(int64_t wanted) const {
    return std::clamp<int64_t>(credit() - padding_, 0, wanted);
  }

  // Can a DATA with this many payload bytes go out now?
  bool canSend(int64_t length) const { return length + padding_ <= credit(); }

  // Records a DATA (or FLUSH) of `reserved` bytes; returns the sequence it was sent at.
  int64_t consume(int32_t reserved) {
    const int64_t at = seq_;
    seq_ += reserved;
    return at;
  }

  int64_t sequence() const { return seq_; }
  int64_t acknowledge() const { return ack_; }
  int32_t maximum() const { return max_; }
  int32_t padding() const { return padding_; }
  uint64_t budgetId() const { return budget_id_; }
  bool opened() const { return opened_; }
  // Everything sent has been acknowledged.
  bool drained() const { return ack_ >= seq_; }

 private:
  int64_t seq_ = 0;
  int64_t ack_ = 0;
  int32_t max_ = 0;
  int32_t padding_ = 0;
  uint64_t budget_id_ = 0;
  bool opened_ = false;
};

// The reader's view of a direction.
class ReceiveWindow {
 public:
  explicit ReceiveWindow(int32_t maximum = 0, int32_t padding = 0)
      : max_(maximum), padding_(padding) {}

  // DATA or FLUSH from the writer. Returns false when the writer overran the window, which is
  // a protocol error (the reader should RESET).
  bool onData(const zb_frame_t& data) {
    seq_ = std::max(seq_, data.sequence + data.reserved);
    return seq_ <= ack_ + max_;
  }

  // Marks `bytes` more as consumed; returns true when the acknowledgement moved.
  bool consume(int64_t bytes) {
    const int64_t next = std::min(seq_, ack_ + bytes);
    const bool moved = next > ack_;
    ack_ = next;
    return moved;
  }
  // Marks everything received as consumed.
  bool consumeAll() {
    const bool moved = seq_ > ack_;
    ack_ = seq_;
    return moved;
  }

  void setMaximum(int32_t maximum) { max_ = maximum; }
  void setPadding(int32_t padding) { padding_ = padding; }

  int64_t sequence() const { return seq_; }
  int64_t acknowledge() const { return ack_; }
  int32_t maximum() const { return max_; }
  int32_t padding() const { return padding_; }
  int64_t unacknowledged() const { return seq_ - ack_; }

 private:
  int64_t seq_ = 0;
  int64_t ack_ = 0;
  int32_t max_;
  int32_t padding_;
};

}  // namespace zb::sdk
