// Streaming calls across rebalances, the scenario of both streaming chaos tests: 8
// client-streaming calls (ClientStreamingEcho: one answer, the request messages joined by ",")
// and 8 bidi calls (BidirectionalStreamingEcho: each message echoed) are written as records of
// one correlation id each, five messages then the tombstone, while the consumer group changes:
//
//   host 0 alone          m1, m2 of every call; wait until the service has seen them all
//   host 1 joins          m3, m4
//   host 2 joins, leaves  m5 and the tombstone
//
// Every call must be answered exactly once with exactly its messages, each once, in order. A call
// whose partition moves before its request is whole is cancelled on its old host and made again,
// whole, by the next owner: for a bidi call the replies its abandoned attempt had already produced
// stay on the reply topic ahead of the complete answer (a prefix of it, with no status). The echo
// service records each request message it receives (echo-server --record), so a test can also
// count what the service saw.
#pragma once

#include "chaos/chaos.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace zb::chaos {

struct StreamingCall {
  std::string id;  // the correlation id, the records' key and their meta:call-id
  std::string method;

  std::string message(int number) const { return id + ".m" + std::to_string(number); }
};

constexpr int kCallsPerMethod = 8;
constexpr int kMessagesPerCall = 5;

inline std::vector<StreamingCall> streamingCalls() {
  std::vector<StreamingCall> calls;
  for (int i = 1; i <= kCallsPerMethod; ++i) {
    const std::string number = (i < 10 ? "0" : "") + std::to_string(i);
    calls.push_back({"c" + number, "ClientStreamingEcho"});
    calls.push_back({"b" + number, "BidirectionalStreamingEcho"});
  }
  return calls;
}

// The reply records' messages a call must be answered with, exactly.
inline std::vector<std::string> expectedReplies(const StreamingCall& call) {
  std::vector<std::string> replies;
  for (int m = 1; m <= kMessagesPerCall; ++m) {
    replies.push_back(call.message(m));
  }
  if (call.method == "ClientStreamingEcho") {
    std::string joined;
    for (const std::string& reply : replies) {
      joined += (joined.empty() ? "" : ",") + reply;
    }
    return {joined};
  }
  return replies;
}

// Whether `got` (a call's reply messages, in order) is its expected answer, preceded by nothing
// but the partial replies of abandoned attempts (each a prefix of the answer); counts those.
inline bool answeredOnce(const std::vector<std::string>& got,
                         const std::vector<std::string>& expected, size_t& abandoned_replies) {
  if (got.size() < expected.size() ||
      !std::equal(expected.begin(), expected.end(), got.end() - long(expected.size()))) {
    return false;
  }
  const size_t before = got.size() - expected.size();
  for (size_t i = 0, in_attempt = 0; i < before; ++i, ++in_attempt) {
    if (got[i] == expected[0]) {
      in_attempt = 0;  // an attempt starts again from the first message
    }
    if (in_attempt >= expected.size() || got[i] != expected[in_attempt]) {
      return false;
    }
  }
  abandoned_replies += before;
  return true;
}

// Writes messages `first`..`last` of every call, interleaved as concurrent clients would, then
// the tombstones if `end`.
inline void writeMessages(const std::string& bootstrap, const ChaosTopics& topics,
                          const std::vector<StreamingCall>& calls, int first, int last, bool end) {
  std::vector<kafka_test::Record> records;
  for (int m = first; m <= last; ++m) {
    for (const StreamingCall& call : calls) {
      records.push_back(requestRecord(call.id, call.method, topics.responses,
                                      test::echoRequest(call.message(m)),
                                      {{"meta:call-id", call.id}}));
    }
  }
  for (const StreamingCall& call : calls) {
    if (end) {
      records.push_back(requestRecord(call.id, call.method, topics.responses, std::nullopt,
                                      {{"meta:call-id", call.id}}));
    }
  }
  kafka_test::produceRecords(bootstrap, topics.requests, records);
}

// What the service saw, from its --record file: how often each "<call-id> <message>" came.
inline std::map<std::string, int> serviceSaw(const std::string& record_path) {
  std::map<std::string, int> seen;
  std::ifstream file(record_path);
  std::string line;
  while (std::getline(file, line)) {
    const size_t method_end = line.find(' ');
    if (method_end != std::string::npos) {
      ++seen[line.substr(method_end + 1)];
    }
  }
  return seen;
}

inline size_t messagesIn(const std::map<std::string, int>& seen) {
  size_t count = 0;
  for (const auto& [message, times] : seen) {
    count += static_cast<size_t>(times);
  }
  return count;
}

inline void streamingAcrossRebalance(int partitions) {
  const std::string bootstrap = test::fixtureBootstrap();
  // The binding's default max-in-flight (64) leaves a slot for every call: each holds its slot
  // until its tombstone.
  ChaosChain chain({.name = "chaos-stream" + std::to_string(partitions),
                    .bootstrap = bootstrap,
                    .partitions = partitions,
                    .slots = 3,
                    .max_in_flight = 64,
                    .record_service = true});
  HostGroup& hosts = chain.hosts();
  ReplyCounter& replies = chain.replies();
  const ChaosTopics& topics = chain.topics();
  const std::string record_path = chain.serviceRecord();
  // A host that joins may get no partition (with one partition, cooperative assignment keeps it
  // where it is), so it is waited for as the broker sees the group, not by a log line of its own.
  GroupDescription group(bootstrap, chain.group());
  const auto awaitGroupOf = [&](size_t members) {
    REQUIRE_MESSAGE(hosts.readUntil([&] { return group.stableWith(members); }, 60s),
                    "the group did not settle with " << members << " members\n"
                                                     << hosts.outputs());
  };

  const std::vector<StreamingCall> calls = streamingCalls();
  hosts.start(0);
  writeMessages(bootstrap, topics, calls, 1, 2, false);
  const bool at_service =
      hosts.readUntil([&] { return messagesIn(serviceSaw(record_path)) >= 2 * calls.size(); }, 60s);
  REQUIRE_MESSAGE(at_service, hosts.outputs());

  hosts.start(1, /*await_assigned=*/false);
  awaitGroupOf(2);
  writeMessages(bootstrap, topics, calls, 3, 4, false);
  hosts.start(2, /*await_assigned=*/false);
  awaitGroupOf(3);
  const int left = hosts.stop(2, SIGTERM);
  CHECK_MESSAGE(left == 0, "host 2 exited " << left << ":\n" << hosts.outputs());
  writeMessages(bootstrap, topics, calls, 5, 5, true);

  std::vector<std::string> ids;
  for (const StreamingCall& call : calls) {
    ids.push_back(call.id);
  }
  const bool all = hosts.readUntil([&] { return tallyAnswers(replies, ids).lost == 0; }, 60s);
  chain.stopHosts();
  const AnswerTally tally = finalTally(replies, ids);

  // Each call's answer, against exactly what it must be.
  size_t wrong = 0;
  size_t abandoned_replies = 0;
  std::ostringstream wrong_answers;
  for (const StreamingCall& call : calls) {
    std::vector<std::string> got;
    const auto values = replies.replies().find(call.id);
    if (values != replies.replies().end()) {
      for (const std::string& value : values->second) {
        got.push_back(test::echoMessage(value));
      }
    }
    if (!answeredOnce(got, expectedReplies(call), abandoned_replies)) {
      ++wrong;
      wrong_answers << " " << call.id << ":";
      for (const std::string& message : got) {
        wrong_answers << " [" << message << "]";
      }
      wrong_answers << ";";
    }
  }
  // What the service saw, against each message once.
  const std::map<std::string, int> seen = serviceSaw(record_path);
  size_t seen_again = 0;
  size_t never_seen = 0;
  for (const StreamingCall& call : calls) {
    for (int m = 1; m <= kMessagesPerCall; ++m) {
      const auto times = seen.find(call.id + " " + call.message(m));
      never_seen += times == seen.end() ? 1 : 0;
      seen_again += times != seen.end() && times->second > 1 ? 1 : 0;
    }
  }
  MESSAGE("streaming calls across rebalances ("
          << partitions << " partition(s)): " << tally
          << " calls answered other than exactly their "
          << "messages: " << wrong << ";" << wrong_answers.str()
          << " replies of abandoned bidi attempts before a complete answer: " << abandoned_replies
          << "; the service saw " << messagesIn(seen) << " messages (each once: "
          << calls.size() * kMessagesPerCall << "), seen more than once: " << seen_again
          << ", never: " << never_seen << "; the test took " << chain.testSeconds() << " s");

  INFO(hosts.outputs());
  CHECK(all);
  CHECK(tally.lost == 0);
  CHECK(tally.answered_twice == 0);
  CHECK(tally.onlyStatuses({"0"}));
  CHECK(wrong == 0);
  CHECK(never_seen == 0);
  if (partitions == 1) {
    // The partition never moves (cooperative assignment): nothing may reach the service twice,
    // and no attempt is abandoned.
    CHECK(seen_again == 0);
    CHECK(abandoned_replies == 0);
  }
}

}  // namespace zb::chaos
