// The engine's timer queue on its own: deadline order, cancellation, stale ids, and no trace of a
// cancelled timer left behind.
#include "timer_queue.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace zb::runtime {
namespace {

TEST_CASE("timer queue: a cancelled timer leaves the queue at once") {
  // A call deadline of an hour, cancelled as each call ends: 1 000 calls a second would otherwise
  // keep 3.6 million dead entries until their hour came.
  TimerQueue timers;
  const int64_t hour = 3'600'000'000'000;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 100'000; ++i) {
    ids.push_back(timers.schedule(hour + i, nullptr, uint64_t(i), 1));
    if (ids.size() > 64) {  // 64 calls in flight
      timers.cancel(ids[ids.size() - 65]);
    }
  }
  CHECK(timers.pending() == 64);
  for (size_t i = ids.size() - 64; i < ids.size(); ++i) {
    timers.cancel(ids[i]);
  }
  CHECK(timers.pending() == 0);
  CHECK(timers.nextDeadline() == 0);
}

TEST_CASE("timer queue: due timers come in deadline order; cancels and stale ids as a model says") {
  TimerQueue timers;
  std::mt19937_64 random(42);
  std::multimap<int64_t, uint64_t> live;                       // deadline -> stream id, the model
  std::map<uint64_t, std::pair<uint64_t, int64_t>> by_stream;  // stream id -> cancel id, deadline
  std::vector<uint64_t> stale;
  uint64_t next_stream = 1;
  int64_t now = 0;
  for (int step = 0; step < 200'000; ++step) {
    const int op = int(random() % 10);
    if (op < 5) {
      const int64_t deadline = now + int64_t(random() % 1000);
      const uint64_t stream = next_stream++;
      by_stream[stream] = {timers.schedule(deadline, nullptr, stream, 7), deadline};
      live.emplace(deadline, stream);
    } else if (op < 8 && !by_stream.empty()) {
      auto it = by_stream.begin();
      std::advance(it, long(random() % by_stream.size()));
      timers.cancel(it->second.first);
      timers.cancel(it->second.first);  // twice: the second is stale
      stale.push_back(it->second.first);
      for (auto at = live.lower_bound(it->second.second); at != live.end(); ++at) {
        if (at->second == it->first) {
          live.erase(at);
          break;
        }
      }
      by_stream.erase(it);
    } else if (op == 8 && !stale.empty()) {
      timers.cancel(stale[random() % stale.size()]);  // a slot reused since: must not cancel
    } else {
      now += int64_t(random() % 50);
      TimerQueue::Due due;
      while (timers.popDue(now, due)) {
        REQUIRE(!live.empty());
        REQUIRE(live.begin()->first <= now);
        // Equal deadlines may come in any order among themselves.
        const int64_t deadline = by_stream.at(due.stream_id).second;
        REQUIRE(deadline == live.begin()->first);
        for (auto at = live.lower_bound(deadline); at != live.end(); ++at) {
          if (at->second == due.stream_id) {
            live.erase(at);
            break;
          }
        }
        by_stream.erase(due.stream_id);
        CHECK(due.signal_id == 7);
      }
      CHECK((live.empty() || live.begin()->first > now));
    }
    REQUIRE(timers.pending() == live.size());
    REQUIRE(timers.nextDeadline() == (live.empty() ? 0 : live.begin()->first));
  }
}

}  // namespace
}  // namespace zb::runtime
