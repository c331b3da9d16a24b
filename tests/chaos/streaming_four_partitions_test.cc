// Streaming calls across rebalances on a 4-partition request topic (streaming_across_rebalance.h),
// the calls spread over the partitions by their key (the correlation id): partitions move, and a
// call whose partition moves may be cancelled on its old host and made again on its new one, but
// its answer must still be exactly its messages, each once, in order (after the partial replies
// of an abandoned bidi attempt, if any).
#include "chaos/streaming_across_rebalance.h"

#include <doctest/doctest.h>

TEST_CASE("streaming calls, 4 partitions, hosts join and leave: answers list each message once") {
  zb::chaos::streamingAcrossRebalance(4);
}
