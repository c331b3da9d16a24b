// The gRPC call stream contract, against the real echo-server: the four call kinds, metadata
// both ways, statuses, deadlines, fragmentation within the reply window, cancellation.
#include "call_harness.h"
#include "echo_process.h"

#include <doctest/doctest.h>

#include <sys/resource.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace zb::grpc_test;

// One plain-text echo-server for the whole file, started on first use.
EchoProcess& echoServer() {
  static EchoProcess server;
  return server;
}

CallSpec echoCall(const std::string& method) {
  CallSpec spec;
  spec.authority = echoServer().authority();
  spec.method = method;
  return spec;
}

std::vector<std::string> messagesOf(const CallRecord& record) {
  std::vector<std::string> messages;
  for (const std::string& bytes : record.messages) {
    messages.push_back(echoResponse(bytes));
  }
  return messages;
}

}  // namespace

TEST_CASE("unary: one message each way, then reply END") {
  Harness harness;
  CallRecord record;
  CallerStream* call = harness.call(echoCall("UnaryEcho"), record);
  call->send(echoRequest("hello"));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.windows >= 1);
  CHECK(record.reply_begun);
  CHECK(messagesOf(record) == std::vector<std::string>{"hello"});
  CHECK(record.deferred == std::vector<int32_t>{0});
  CHECK(record.ended);
  CHECK_FALSE(record.aborted);
  CHECK_FALSE(record.reset);
  CHECK(record.events.front() == "window");  // no request byte before the channel was ready
  CHECK(record.events.back() == "end");
  CHECK(harness.engine().openStreams() == 0);
}

TEST_CASE("server streaming: ten numbered replies") {
  Harness harness;
  CallRecord record;
  CallerStream* call = harness.call(echoCall("ServerStreamingEcho"), record);
  call->send(echoRequest("tick"));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  std::vector<std::string> expected;
  for (int i = 1; i <= 10; ++i) {
    expected.push_back("tick " + std::to_string(i));
  }
  CHECK(messagesOf(record) == expected);
  CHECK(record.ended);
}

TEST_CASE("client streaming: many requests, one joined reply") {
  Harness harness;
  CallRecord record;
  CallerStream* call = harness.call(echoCall("ClientStreamingEcho"), record);
  for (const char* message : {"a", "b", "c"}) {
    call->send(echoRequest(message));
  }
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(messagesOf(record) == std::vector<std::string>{"a,b,c"});
  CHECK(record.ended);
}

TEST_CASE("bidirectional streaming: each message answered before the next is sent") {
  Harness harness;
  CallRecord record;
  CallerStream* call = harness.call(echoCall("BidirectionalStreamingEcho"), record);
  for (int i = 0; i < 5; ++i) {
    const std::string message = "ping " + std::to_string(i);
    call->send(echoRequest(message));
    REQUIRE(harness.runUntil([&] { return record.messages.size() == size_t(i + 1); }));
    CHECK(echoResponse(record.messages.back()) == message);
  }
  CHECK_FALSE(record.replyClosed());  // the call stays open until the caller ends it
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.ended);
  CHECK(record.messages.size() == 5);
}

TEST_CASE("an empty client stream and an empty message are both valid") {
  Harness harness;
  CallRecord none;
  harness.call(echoCall("ClientStreamingEcho"), none)->finish();
  CallRecord empty;
  CallerStream* call = harness.call(echoCall("UnaryEcho"), empty);
  call->send(std::string());  // the default EchoRequest is zero bytes on the wire
  call->finish();
  REQUIRE(harness.runUntil([&] { return none.released && empty.released; }));
  CHECK(messagesOf(none) == std::vector<std::string>{""});
  CHECK(none.ended);
  REQUIRE(empty.messages.size() == 1);
  CHECK(empty.messages[0].empty());
  CHECK(empty.ended);
}

TEST_CASE("metadata: text and -bin both ways") {
  Harness harness;
  CallRecord record;
  CallSpec spec = echoCall("UnaryEcho");
  spec.metadata = {
      {false, "echo-text", "plain value"},
      {true, "echo-bytes", "AAEC//4="},  // base64 of 00 01 02 ff fe
      {true, "trace", "3q2+7w=="},       // any -bin entry comes back
      {false, "not-echoed", "x"},
      {false, "Echo-Upper", "folded"},  // names are case-insensitive: sent lower-case
  };
  CallerStream* call = harness.call(spec, record);
  call->send(echoRequest("meta"));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.ended);
  auto has = [&](const MetadataEntry& wanted) {
    for (const MetadataEntry& entry : record.metadata) {
      if (entry == wanted) {
        return true;
      }
    }
    return false;
  };
  CHECK(has({false, "echo-text", "plain value"}));
  CHECK(has({true, "echo-bytes", "AAEC//4="}));
  CHECK(has({true, "trace", "3q2+7w=="}));
  CHECK(has({false, "echo-upper", "folded"}));
  CHECK_FALSE(has({false, "not-echoed", "x"}));
}

TEST_CASE("bad metadata is refused with RESET status 3 and no call") {
  Harness harness;
  for (const MetadataEntry& bad :
       {MetadataEntry{true, "echo-bytes", "not base64!"}, MetadataEntry{false, "bad name", "x"},
        MetadataEntry{false, "echo-text", "line\nbreak"}}) {
    CAPTURE(bad.name);
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {bad};
    harness.call(spec, record);
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(record.reset);
    CHECK(record.status == 3);
    CHECK(record.windows == 0);
    CHECK_FALSE(record.reply_begun);
    CHECK(record.aborted);  // the reply is closed too, without a status of its own
  }
}

TEST_CASE("a BEGIN without a usable BeginEx is refused with status 3") {
  Harness harness;
  CallRecord record;
  CallSpec spec = echoCall("UnaryEcho");
  spec.service.clear();
  harness.call(spec, record);
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.reset);
  CHECK(record.status == 3);
}

TEST_CASE("statuses: OK is END, anything else is reply BEGIN then ABORT with the status") {
  Harness harness;
  for (const int code : {2, 3, 5, 7, 8, 13, 14, 16}) {
    CAPTURE(code);
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-status", std::to_string(code)}};
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("fail"));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(record.reply_begun);
    CHECK(record.aborted);
    CHECK_FALSE(record.reset);  // the service answered: nothing here is for the caller to retry
    CHECK(record.status == code);
    CHECK(record.message == "echo-status requested");
    CHECK(record.messages.empty());
    CHECK(record.events.back() == "abort");
  }
}

TEST_CASE("a streaming call that fails mid-way still reports its status") {
  Harness harness;
  CallRecord record;
  CallSpec spec = echoCall("BidirectionalStreamingEcho");
  spec.metadata = {{false, "echo-status", "9"}};
  CallerStream* call = harness.call(spec, record);
  call->send(echoRequest("x"));
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.aborted);
  CHECK(record.status == 9);
  CHECK(record.reset);  // the caller had not ended: its direction is closed with no status
}

TEST_CASE("deadlines: BeginEx.deadline_ms, and the option's default, end in ABORT 4") {
  SUBCASE("per call") {
    Harness harness;
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-delay-ms", "3000"}};
    spec.deadline_ms = 200;
    const auto started = std::chrono::steady_clock::now();
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("slow"));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2500));
    CHECK(record.reply_begun);
    CHECK(record.aborted);
    CHECK(record.status == 4);
  }
  SUBCASE("binding default") {
    Harness harness(R"({"deadline": "300ms"})");
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-delay-ms", "3000"}};
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("slow"));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(record.aborted);
    CHECK(record.status == 4);
  }
  SUBCASE("a delay within the deadline is fine") {
    Harness harness(R"({"deadline": "5s"})");
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-delay-ms", "100"}};
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("patient"));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(record.ended);
    CHECK(messagesOf(record) == std::vector<std::string>{"patient"});
  }
}

TEST_CASE("a large message is fragmented within a small reply window, and sent fragmented") {
  Harness harness;
  CallRecord record;
  const std::string big(200'000, 'z');
  const std::string request = echoRequest(big);
  const int32_t reply_window = 4096;
  CallerStream* call = harness.call(echoCall("UnaryEcho"), record, reply_window);
  call->send(request);  // larger than the binding's 64 KiB request window: sent in fragments
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.ended);
  REQUIRE(record.messages.size() == 1);
  CHECK(echoResponse(record.messages[0]) == big);
  CHECK(record.largest_fragment <= size_t(reply_window));
  CHECK(record.fragments >= request.size() / reply_window);
  REQUIRE(record.deferred.size() == 1);
  CHECK(record.deferred[0] == int32_t(request.size() - reply_window));
  CHECK(record.request_maximum == 64 * 1024);
}

TEST_CASE("a response larger than max-receive-message-size ends the call with status 8") {
  Harness harness(R"({"max-receive-message-size": 100})");
  CallRecord record;
  CallerStream* call = harness.call(echoCall("UnaryEcho"), record);
  call->send(echoRequest(std::string(200, 'x')));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.reply_begun);
  CHECK(record.aborted);
  CHECK(record.status == 8);
  CHECK(record.messages.empty());
}

TEST_CASE("reply back-pressure: nothing beyond the granted window, the rest once it opens") {
  Harness harness;
  CallRecord record;
  const std::string one = echoRequest("tick 10");  // the longest of the ten replies
  CallerStream* call =
      harness.call(echoCall("ServerStreamingEcho"), record, static_cast<int32_t>(one.size()));
  call->holdReply(true);
  call->send(echoRequest("tick"));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.messages.size() == 1; }));
  // Give the service every chance to push more; the binding must hold it.
  harness.runUntil([] { return false; }, 300);
  CHECK(record.messages.size() == 1);
  CHECK_FALSE(record.replyClosed());
  call->holdReply(false);
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.messages.size() == 10);
  CHECK(record.ended);
}

TEST_CASE("the caller cancels: ABORT of the request gives reply ABORT status 1") {
  Harness harness;
  CallRecord record;
  CallerStream* call = harness.call(echoCall("BidirectionalStreamingEcho"), record);
  call->send(echoRequest("first"));
  REQUIRE(harness.runUntil([&] { return record.messages.size() == 1; }));
  call->abortRequest();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  CHECK(record.aborted);
  CHECK(record.status == 1);
}

TEST_CASE("the caller resets the reply: the call is cancelled and the stream closes") {
  Harness harness;
  CallRecord record;
  CallSpec spec = echoCall("UnaryEcho");
  spec.metadata = {{false, "echo-delay-ms", "2000"}};
  CallerStream* call = harness.call(spec, record);
  call->send(echoRequest("never mind"));
  REQUIRE(harness.runUntil([&] { return record.acknowledged > 0; }));
  const auto started = std::chrono::steady_clock::now();
  call->resetReply();
  REQUIRE(harness.runUntil([&] { return record.released; }, 1000));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1000));
  CHECK(record.reset);
}

TEST_CASE("many calls in flight share one channel") {
  Harness harness;
  constexpr int kCalls = 64;
  std::vector<CallRecord> records(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    CallerStream* call = harness.call(echoCall("UnaryEcho"), records[i]);
    call->send(echoRequest("n" + std::to_string(i)));
    call->finish();
  }
  REQUIRE(harness.runUntil([&] {
    for (const CallRecord& record : records) {
      if (!record.released) {
        return false;
      }
    }
    return true;
  }));
  for (int i = 0; i < kCalls; ++i) {
    CHECK(records[i].ended);
    CHECK(messagesOf(records[i]) == std::vector<std::string>{"n" + std::to_string(i)});
  }
}

TEST_CASE("routes with conditions: calls to other methods are refused with status 12") {
  Harness harness("{}",
                  R"([{"exit": "http0", "when": [{"method": "grpc.examples.echo.Echo/Unary*"}]}])");
  CallRecord allowed;
  CallerStream* call = harness.call(echoCall("UnaryEcho"), allowed);
  call->send(echoRequest("ok"));
  call->finish();
  CallRecord refused;
  harness.call(echoCall("ServerStreamingEcho"), refused);
  REQUIRE(harness.runUntil([&] { return allowed.released && refused.released; }));
  CHECK(allowed.ended);
  CHECK(refused.reset);
  CHECK(refused.status == 12);
}

TEST_CASE("shutting the engine down mid-call cancels cleanly") {
  CallRecord record;
  {
    Harness harness;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-delay-ms", "5000"}};
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("left behind"));
    REQUIRE(harness.runUntil([&] { return record.acknowledged > 0; }));
    const auto started = std::chrono::steady_clock::now();
    harness.engine().shutdown();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1000));
  }
  CHECK(record.released);
}

// A rough figure for the report, not a benchmark (bench/ has those): run it with --no-skip.
TEST_CASE("unary throughput with 64 calls in flight" * doctest::skip()) {
  Harness harness;
  constexpr int kTotal = 20'000;
  constexpr int kInFlight = 64;
  std::vector<CallRecord> records(kTotal);
  const std::string request = echoRequest("throughput");
  int started = 0;
  int done = 0;
  auto start = [&] {
    CallerStream* call = harness.call(echoCall("UnaryEcho"), records[started++]);
    call->send(request);
    call->finish();
  };
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto begun = std::chrono::steady_clock::now();
  while (started < kInFlight) {
    start();
  }
  while (done < kTotal) {
    REQUIRE(harness.runUntil([&] { return records[done].released; }));
    CHECK(records[done].ended);
    ++done;
    if (started < kTotal) {
      start();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  const double cpu = double(after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
                     double(after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                     double(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                     double(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
  const double rate = kTotal / seconds;
  const double cpu_us = cpu / kTotal * 1e6;
  MESSAGE(rate << " calls/s, " << cpu_us << " us CPU per call");
}

TEST_CASE("metadata gRPC reserves for itself does not break the call") {
  // gRPC C++ aborts the process on metadata its core refuses; these must not get that far.
  Harness harness;
  for (const MetadataEntry& reserved :
       {MetadataEntry{false, "grpc-timeout", "nonsense"}, MetadataEntry{false, "content-type", "x"},
        MetadataEntry{false, "te", "x"}, MetadataEntry{false, "grpc-status", "x"},
        MetadataEntry{true, "grpc-trace", "AAAA"}, MetadataEntry{false, "host", "x"}}) {
    CAPTURE(reserved.name);
    CallRecord record;
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {reserved};
    CallerStream* call = harness.call(spec, record);
    call->send(echoRequest("x"));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK((record.ended || record.aborted || record.reset));
  }
}
