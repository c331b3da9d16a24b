// Streaming calls across rebalances on a ONE-partition request topic
// (streaming_across_rebalance.h): the partition never has to move, so with cooperative assignment
// no call may be disturbed at all: every call answered once with exactly its messages, and the
// service sees each message once.
#include "chaos/streaming_across_rebalance.h"

#include <doctest/doctest.h>

TEST_CASE("streaming calls, one partition, hosts join and leave: each message once, in order") {
  zb::chaos::streamingAcrossRebalance(1);
}
