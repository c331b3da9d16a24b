// The binding's metrics, as the host receives them: calls through the real libbinding-grpc.so
// against the real echo-server, with an engine whose MetricSink keeps every series it is given.
#include "call_harness.h"
#include "echo_process.h"

#include <zb/runtime/engine.h>

#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace zb::grpc_test;

const std::string kUnary = "grpc.examples.echo.Echo/UnaryEcho";

const std::string kBidiPattern = "grpc.examples.echo.Echo/Bidi*";

// Every series declared, with what was recorded into it; the same kind, binding, name and
// labels give the same id, as the host's registry does. Engine thread.
class RecordedMetrics : public zb::runtime::MetricSink {
 public:
  struct Series {
    zb_metric_kind kind;
    std::string binding;
    std::string name;
    std::string labels;
    int64_t value = 0;  // counter and gauge: the total; histogram: the sum of observations
    int64_t count = 0;  // histogram: observations
  };
  using Labels = std::vector<std::pair<std::string, std::string>>;

  uint32_t declare(zb_metric_kind kind, std::string_view binding, std::string_view name,
                   std::string_view labels) override {
    ++declarations_;
    for (size_t i = 0; i < series_.size(); ++i) {
      const Series& s = series_[i];
      if (s.kind == kind && s.binding == binding && s.name == name && s.labels == labels) {
        return static_cast<uint32_t>(i + 1);
      }
    }
    series_.push_back(Series{kind, std::string(binding), std::string(name), std::string(labels)});
    return static_cast<uint32_t>(series_.size());
  }

  void record(uint32_t id, int64_t value) override {
    REQUIRE(id >= 1);
    REQUIRE(id <= series_.size());
    Series& s = series_[id - 1];
    s.value += value;
    if (s.kind == ZB_METRIC_HISTOGRAM) {
      ++s.count;
    }
  }

  // The series of `name` whose labels include every given name="value".
  std::vector<const Series*> find(const std::string& name, const Labels& labels = {}) const {
    std::vector<const Series*> found;
    for (const Series& s : series_) {
      bool match = s.name == name;
      for (const auto& [label, value] : labels) {
        match = match && hasLabel(s.labels, label + "=\"" + value + "\"");
      }
      if (match) {
        found.push_back(&s);
      }
    }
    return found;
  }
  int64_t value(const std::string& name, const Labels& labels = {}) const {
    int64_t total = 0;
    for (const Series* s : find(name, labels)) {
      total += s->value;
    }
    return total;
  }
  int64_t count(const std::string& name, const Labels& labels = {}) const {
    int64_t total = 0;
    for (const Series* s : find(name, labels)) {
      total += s->count;
    }
    return total;
  }

  const std::deque<Series>& series() const { return series_; }
  // Calls to declare(), repeats included.
  size_t declarations() const { return declarations_; }

 private:
  static bool hasLabel(const std::string& labels, const std::string& pair) {
    for (size_t at = labels.find(pair); at != std::string::npos; at = labels.find(pair, at + 1)) {
      const size_t end = at + pair.size();
      if ((at == 0 || labels[at - 1] == ',') && (end == labels.size() || labels[end] == ',')) {
        return true;
      }
    }
    return false;
  }

  std::deque<Series> series_;
  size_t declarations_ = 0;
};

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

// Runs one unary call to completion and returns what its caller saw.
CallRecord unary(Harness& harness, const CallSpec& spec, const std::string& request) {
  CallRecord record;
  CallerStream* call = harness.call(spec, record);
  call->send(request);
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }));
  return record;
}

}  // namespace

// Routes that name the two methods the tests label, and accept every other call.
const std::string kNamingRoutes = R"([{"when": [{"method": "grpc.examples.echo.Echo/UnaryEcho"},
                                                {"method": "grpc.examples.echo.Echo/Bidi*"}]},
                                      {}])";

TEST_CASE("metrics: two unary calls are started, finished with status 0 and their bytes counted") {
  RecordedMetrics metrics;
  Harness harness("{}", kNamingRoutes, &metrics);
  REQUIRE(harness.created());
  // The gauge exists from the start, labelled with the binding's namespace and name.
  REQUIRE(metrics.find("grpc.calls.in_flight").size() == 1);
  CHECK(metrics.find("grpc.calls.in_flight")[0]->kind == ZB_METRIC_GAUGE);
  CHECK(metrics.find("grpc.calls.in_flight")[0]->labels == "binding=\"test.grpc0\"");
  CHECK(metrics.find("grpc.calls.in_flight")[0]->binding == "grpc0");

  const std::string first = echoRequest("hello");
  const std::string second = echoRequest("hello again, a little longer");
  const CallRecord one = unary(harness, echoCall("UnaryEcho"), first);
  const size_t declared = metrics.declarations();
  const CallRecord two = unary(harness, echoCall("UnaryEcho"), second);
  REQUIRE(one.ended);
  REQUIRE(two.ended);
  // The second call of the same method and status found every id cached: nothing registered.
  CHECK(metrics.declarations() == declared);

  const RecordedMetrics::Labels method{{"binding", "test.grpc0"}, {"method", kUnary}};
  CHECK(metrics.value("grpc.calls.started", method) == 2);
  CHECK(metrics.value("grpc.calls.finished", {{"method", kUnary}, {"status", "0"}}) == 2);
  CHECK(metrics.value("grpc.calls.finished") == 2);
  CHECK(metrics.value("grpc.request.bytes", method) == int64_t(first.size() + second.size()));
  const int64_t response_bytes = int64_t(one.messages.at(0).size() + two.messages.at(0).size());
  CHECK(response_bytes > 0);
  CHECK(metrics.value("grpc.response.bytes", method) == response_bytes);
  CHECK(metrics.count("grpc.call_duration_us", method) == 2);
  CHECK(metrics.value("grpc.call_duration_us", method) > 0);
  CHECK(metrics.value("grpc.calls.in_flight") == 0);
  CHECK(metrics.find("grpc.calls.refused").empty());

  // One series per metric and method: started, duration, request and response bytes, and
  // finished for the one status seen, with the kinds the docs give.
  REQUIRE(metrics.find("grpc.calls.started").size() == 1);
  CHECK(metrics.find("grpc.calls.started")[0]->kind == ZB_METRIC_COUNTER);
  CHECK(metrics.find("grpc.calls.started")[0]->labels ==
        "binding=\"test.grpc0\",method=\"" + kUnary + "\"");
  REQUIRE(metrics.find("grpc.calls.finished").size() == 1);
  CHECK(metrics.find("grpc.calls.finished")[0]->labels ==
        "binding=\"test.grpc0\",method=\"" + kUnary + "\",status=\"0\"");
  CHECK(metrics.find("grpc.call_duration_us")[0]->kind == ZB_METRIC_HISTOGRAM);
  CHECK(metrics.find("grpc.request.bytes")[0]->kind == ZB_METRIC_COUNTER);
  CHECK(metrics.find("grpc.response.bytes")[0]->kind == ZB_METRIC_COUNTER);
}

TEST_CASE("metrics: a failed status, a call in flight, refusals") {
  RecordedMetrics metrics;
  Harness harness("{}", kNamingRoutes, &metrics);
  REQUIRE(harness.created());

  SUBCASE("a status other than OK is counted under its code") {
    CallSpec spec = echoCall("UnaryEcho");
    spec.metadata = {{false, "echo-status", "5"}};
    const CallRecord record = unary(harness, spec, echoRequest("missing"));
    REQUIRE(record.aborted);
    REQUIRE(record.status == 5);
    CHECK(metrics.value("grpc.calls.started", {{"method", kUnary}}) == 1);
    CHECK(metrics.value("grpc.calls.finished", {{"method", kUnary}, {"status", "5"}}) == 1);
    CHECK(metrics.value("grpc.calls.finished", {{"status", "0"}}) == 0);
    CHECK(metrics.count("grpc.call_duration_us", {{"method", kUnary}}) == 1);
    CHECK(metrics.value("grpc.response.bytes") == 0);
    CHECK(metrics.value("grpc.calls.in_flight") == 0);
    CHECK(metrics.find("grpc.calls.refused").empty());  // the service answered: no refusal
  }

  SUBCASE("a streaming call is in flight until its status arrives") {
    CallRecord record;
    CallerStream* call = harness.call(echoCall("BidirectionalStreamingEcho"), record);
    const std::string ping = echoRequest("ping");
    call->send(ping);
    // The reply, and the acknowledgement that says gRPC completed the request's Write.
    REQUIRE(harness.runUntil([&] {
      return record.messages.size() == 1 && record.acknowledged == int64_t(ping.size());
    }));
    CHECK(metrics.value("grpc.calls.in_flight") == 1);
    CHECK(metrics.value("grpc.calls.started", {{"method", kBidiPattern}}) == 1);
    CHECK(metrics.value("grpc.calls.finished") == 0);
    CHECK(metrics.value("grpc.request.bytes", {{"method", kBidiPattern}}) == int64_t(ping.size()));
    CHECK(metrics.value("grpc.response.bytes", {{"method", kBidiPattern}}) ==
          int64_t(record.messages[0].size()));
    call->finish();
    REQUIRE(harness.runUntil([&] { return record.released; }));
    CHECK(record.ended);
    CHECK(metrics.value("grpc.calls.in_flight") == 0);
    CHECK(metrics.value("grpc.calls.finished", {{"method", kBidiPattern}, {"status", "0"}}) == 1);
  }

  SUBCASE("refusals are counted by status, and a refused call never started") {
    CallSpec bad = echoCall("UnaryEcho");
    bad.metadata = {{true, "echo-bytes", "not base64!"}};
    const CallRecord invalid = unary(harness, bad, echoRequest("x"));
    REQUIRE(invalid.reset);
    REQUIRE(invalid.status == 3);

    CallSpec nowhere;
    nowhere.authority = "127.0.0.1:" + std::to_string(unusedPort());
    const CallRecord unavailable = unary(harness, nowhere, echoRequest("anyone?"));
    REQUIRE(unavailable.reset);
    REQUIRE(unavailable.status == 14);

    CHECK(metrics.value("grpc.calls.refused", {{"status", "3"}}) == 1);
    CHECK(metrics.value("grpc.calls.refused", {{"status", "14"}}) == 1);
    CHECK(metrics.value("grpc.calls.refused") == 2);
    REQUIRE(metrics.find("grpc.calls.refused", {{"status", "14"}}).size() == 1);
    CHECK(metrics.find("grpc.calls.refused", {{"status", "14"}})[0]->labels ==
          "binding=\"test.grpc0\",status=\"14\"");
    CHECK(metrics.find("grpc.calls.started").empty());
    CHECK(metrics.value("grpc.calls.in_flight") == 0);
  }
}

TEST_CASE("metrics: a method no route names counts as method=\"other\", whatever its name") {
  RecordedMetrics metrics;
  Harness harness("{}", kNamingRoutes, &metrics);
  REQUIRE(harness.created());
  // Names no caller should be able to turn into series: many distinct ones, a 65 KiB one, and
  // one that is not UTF-8. The echo service has none of them: each call ends with status 12.
  std::vector<std::string> methods;
  for (int i = 0; i < 40; ++i) {
    methods.push_back("Missing" + std::to_string(i));
  }
  methods.push_back(std::string(65536, 'm'));
  methods.push_back("Bad\xff\xfeName");
  std::deque<CallRecord> records(methods.size());
  for (size_t i = 0; i < methods.size(); ++i) {
    CallerStream* call = harness.call(echoCall(methods[i]), records[i]);
    call->send(echoRequest("x"));
    call->finish();
  }
  REQUIRE(harness.runUntil(
      [&] {
        for (const CallRecord& record : records) {
          if (!record.released) {
            return false;
          }
        }
        return true;
      },
      30'000));
  CHECK(metrics.find("grpc.calls.started").size() == 1);
  CHECK(metrics.value("grpc.calls.started", {{"method", "other"}}) ==
        static_cast<int64_t>(methods.size()));
  CHECK(metrics.value("grpc.calls.in_flight") == 0);
  for (const auto* series : metrics.find("grpc.calls.finished")) {
    CHECK(series->labels.size() < 100);
  }
  // The one a route names keeps its own series, labelled with the pattern as written.
  const CallRecord named = unary(harness, echoCall("BidirectionalStreamingEcho"), echoRequest("y"));
  CHECK(named.ended);
  CHECK(metrics.value("grpc.calls.started", {{"method", kBidiPattern}}) == 1);
}
