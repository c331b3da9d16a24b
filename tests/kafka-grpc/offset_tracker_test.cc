#include "offset_tracker.h"

#include <doctest/doctest.h>

namespace zb::kafka_grpc {
namespace {

TEST_CASE("a record commits only when received and settled") {
  OffsetTracker tracker;
  const auto a = tracker.add(0, 5);
  CHECK_FALSE(tracker.settled(a));
  const auto progress = tracker.received(a);
  REQUIRE(progress);
  CHECK(progress->partition == 0);
  CHECK(progress->offset == 6);
}

TEST_CASE("commits never pass a record still in flight") {
  OffsetTracker tracker;
  const auto a = tracker.add(0, 1);
  const auto b = tracker.add(0, 2);
  const auto c = tracker.add(0, 4);  // offsets may have gaps (filtered records)
  for (const auto& h : {a, b, c}) {
    tracker.received(h);
  }
  CHECK_FALSE(tracker.settled(b));
  CHECK_FALSE(tracker.settled(c));
  CHECK(tracker.pending(0) == 3);
  const auto progress = tracker.settled(a);
  REQUIRE(progress);
  CHECK(progress->offset == 5);  // a, b and c are all done: past c
  CHECK(tracker.pending(0) == 0);
  CHECK(tracker.committed(0) == 5);
}

TEST_CASE("partitions are independent") {
  OffsetTracker tracker;
  const auto p0 = tracker.add(0, 10);
  const auto p3 = tracker.add(3, 7);
  tracker.received(p0);
  tracker.received(p3);
  const auto progress = tracker.settled(p3);
  REQUIRE(progress);
  CHECK(progress->partition == 3);
  CHECK(progress->offset == 8);
  CHECK(tracker.pending(0) == 1);
}

TEST_CASE("the ring grows and keeps order") {
  OffsetTracker tracker;
  std::vector<OffsetTracker::Handle> handles;
  for (int i = 0; i < 1000; ++i) {
    handles.push_back(tracker.add(1, i));
    tracker.received(handles.back());
  }
  for (int i = 999; i >= 1; --i) {
    CHECK_FALSE(tracker.settled(handles[static_cast<size_t>(i)]));
  }
  const auto progress = tracker.settled(handles[0]);
  REQUIRE(progress);
  CHECK(progress->offset == 1000);
}

TEST_CASE("handles from before clear() are ignored") {
  OffsetTracker tracker;
  const auto old = tracker.add(0, 1);
  tracker.clear();
  const auto fresh = tracker.add(0, 1);
  CHECK_FALSE(tracker.received(old));
  CHECK_FALSE(tracker.settled(old));
  tracker.received(fresh);
  CHECK(tracker.settled(fresh));
}

TEST_CASE("a negative partition is not tracked") {
  OffsetTracker tracker;
  const auto h = tracker.add(-1, 3);
  CHECK_FALSE(h.valid());
  CHECK_FALSE(tracker.received(h));
}

TEST_CASE("any int32 partition id is tracked on its own, a huge one costing one slot") {
  // A fuzz finding: partition 2147483647 once made the tracker size a table by the id.
  OffsetTracker tracker;
  const int32_t ids[] = {2147483647, 0, 1023, 1024, 70000, 5};
  std::vector<OffsetTracker::Handle> handles;
  for (int32_t id : ids) {
    handles.push_back(tracker.add(id, 100 + id % 7));
    REQUIRE(handles.back().valid());
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    CHECK(tracker.pending(ids[i]) == 1);
    tracker.received(handles[i]);
    const auto progress = tracker.settled(handles[i]);
    REQUIRE(progress);
    CHECK(progress->partition == ids[i]);
    CHECK(progress->offset == 101 + ids[i] % 7);
    CHECK(tracker.committed(ids[i]) == 101 + ids[i] % 7);
    CHECK(tracker.pending(ids[i]) == 0);
  }
  CHECK(tracker.pending(6) == 0);
  CHECK(tracker.committed(2147483646) == -1);
  // A handle naming another partition's slot is refused.
  OffsetTracker::Handle forged = handles[0];
  forged.partition = 5;
  CHECK_FALSE(tracker.received(forged));
}

}  // namespace
}  // namespace zb::kafka_grpc
