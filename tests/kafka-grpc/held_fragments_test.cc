#include "held_fragments.h"

#include <zb/abi.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace zb::kafka_grpc {
namespace {

// A sink that takes up to `credit` bytes per write and records what it got.
struct FakeSink : RecordSink {
  size_t credit = 0;
  std::vector<std::string> got;
  std::vector<uint8_t> flags;
  std::vector<int32_t> deferred;
  Written write(uint8_t f, int32_t d, const uint8_t* data, size_t length) override {
    const size_t n = std::min(credit, length);
    if (n == 0 && length > 0) {
      return Written{0, false};
    }
    credit -= n;
    got.emplace_back(reinterpret_cast<const char*>(data), n);
    flags.push_back(n == length ? f : static_cast<uint8_t>(f & ~ZB_DATA_FIN));
    deferred.push_back(d);
    return Written{n, n == length};
  }
};

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST_CASE("retired slots are reused: a full store compacts when a push needs the room") {
  // A 16-byte payload takes a 48-byte slot (entry header included, 8-byte aligned): 4 slots
  // fill a 192-byte store.
  HeldFragments held(192);
  FakeSink a;
  FakeSink b;
  const std::string payload(16, 'x');
  REQUIRE(held.push(a, ZB_DATA_COMPLETE, 0, bytes(payload), payload.size(), 1));
  REQUIRE(held.push(b, ZB_DATA_COMPLETE, 0, bytes(payload), payload.size(), 2));
  REQUIRE(held.push(a, ZB_DATA_COMPLETE, 0, bytes(payload), payload.size(), 3));
  REQUIRE(held.push(b, ZB_DATA_COMPLETE, 0, bytes(payload), payload.size(), 4));
  CHECK_FALSE(held.push(a, ZB_DATA_COMPLETE, 0, bytes(payload), payload.size(), 5));

  // b's two slots (the 2nd and 4th) are retired; a's stay, so the room is in the middle.
  b.credit = 100;
  CHECK(held.drain(b) == 6);
  CHECK(held.bytes() == 96);
  const std::string other(16, 'y');
  REQUIRE(held.push(b, ZB_DATA_COMPLETE, 0, bytes(other), other.size(), 7));
  REQUIRE(held.push(b, ZB_DATA_COMPLETE, 0, bytes(other), other.size(), 8));
  CHECK(held.bytes() == 192);

  // Order and contents survive the move.
  a.credit = 100;
  CHECK(held.drain(a) == 4);
  CHECK(a.got == std::vector<std::string>{payload, payload});
  CHECK(held.drain(b) == 15);
  CHECK(b.got.size() == 4);
  CHECK(b.got[2] == other);
  CHECK(held.empty());
}

TEST_CASE("held fragments drain in order, per sink, within credit") {
  HeldFragments held(4096);
  FakeSink a;
  FakeSink b;
  const std::string one = "aaaa";
  const std::string two = "bbbbbb";
  const std::string three = "cc";
  REQUIRE(held.push(a, ZB_DATA_INIT, 8, bytes(one), one.size(), 100));
  REQUIRE(held.push(b, ZB_DATA_COMPLETE, 0, bytes(three), three.size(), 50));
  REQUIRE(held.push(a, ZB_DATA_FIN, 0, bytes(two), two.size(), 200));
  CHECK(a.held() == 2);
  CHECK(b.held() == 1);

  a.credit = 6;  // all of the first, two bytes of the second
  CHECK(held.drain(a) == 100);
  REQUIRE(a.got.size() == 2);
  CHECK(a.got[0] == "aaaa");
  CHECK(a.flags[0] == ZB_DATA_INIT);
  CHECK(a.deferred[0] == 8);
  CHECK(a.got[1] == "bb");
  CHECK(a.held() == 1);

  b.credit = 10;
  CHECK(held.drain(b) == 50);
  CHECK(b.got == std::vector<std::string>{"cc"});

  a.credit = 100;
  CHECK(held.drain(a) == 200);
  CHECK(a.got.back() == "bbbb");
  CHECK(a.flags.back() == ZB_DATA_FIN);  // the tail keeps FIN, has no INIT
  CHECK(held.empty());
}

TEST_CASE("dropping a sink frees its credit and keeps the others") {
  HeldFragments held(1024);
  FakeSink a;
  FakeSink b;
  const std::string x = "xyz";
  held.push(a, ZB_DATA_COMPLETE, 0, bytes(x), x.size(), 10);
  held.push(b, ZB_DATA_COMPLETE, 0, bytes(x), x.size(), 20);
  held.push(a, ZB_DATA_COMPLETE, 0, bytes(x), x.size(), 30);
  CHECK(held.drop(a) == 40);
  CHECK(a.held() == 0);
  CHECK(b.held() == 1);
  b.credit = 3;
  CHECK(held.drain(b) == 20);
  CHECK(held.empty());
}

TEST_CASE("the store refuses what exceeds its capacity") {
  HeldFragments held(128);
  FakeSink a;
  const std::string big(200, 'z');
  CHECK_FALSE(held.push(a, ZB_DATA_COMPLETE, 0, bytes(big), big.size(), 248));
  CHECK(a.held() == 0);
}

TEST_CASE("a fragment within the window always fits") {
  // Every entry costs at most its payload plus kEntryOverhead (the fetch padding).
  HeldFragments held(4096);
  FakeSink a;
  size_t credit_used = 0;
  const std::string one(1, 'q');
  while (credit_used + 1 + HeldFragments::kEntryOverhead <= 4096) {
    REQUIRE(held.push(a, ZB_DATA_COMPLETE, 0, bytes(one), 1, 1 + 48));
    credit_used += 1 + HeldFragments::kEntryOverhead;
  }
}

}  // namespace
}  // namespace zb::kafka_grpc
