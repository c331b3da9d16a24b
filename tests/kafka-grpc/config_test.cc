#include "config.h"

#include <doctest/doctest.h>

namespace zb::kafka_grpc {
namespace {

uint64_t resolve(const std::string& name) { return name == "grpc0" ? 7 : 0; }

std::optional<Config> parse(const std::string& options, const std::string& routes,
                            std::string& error) {
  return parseConfig(options, routes, "test", "remote_server0", resolve, error);
}

const char* kRoute = R"([{"exit":"grpc0","when":[{"topic":"requests","reply-to":"responses"}],)"
                     R"("with":{"scheme":"http","authority":"localhost:8080"}}])";

TEST_CASE("defaults are Zilla's, plus ours") {
  std::string error;
  const auto config = parse("{}", kRoute, error);
  REQUIRE_MESSAGE(config, error);
  const Options& o = config->options;
  CHECK(o.acks == AckMode::kInSyncReplicas);
  CHECK(o.idempotency_metadata == "idempotency-key");
  CHECK(o.correlation.service == "zilla:service");
  CHECK(o.correlation.method == "zilla:method");
  CHECK(o.correlation.correlation_id == "zilla:correlation-id");
  CHECK(o.correlation.reply_to == "zilla:reply-to");
  CHECK(o.group_id == "zilla:test-remote_server0");
  CHECK(o.retry.max_attempts == 5);
  CHECK(o.retry.initial_backoff_ns == 1'000'000'000);
  CHECK(o.retry.max_backoff_ns == 30'000'000'000);
  CHECK(o.retry.backoff_multiplier == 2.0);
  CHECK(o.retry.jitter == doctest::Approx(0.2));
  CHECK(o.deadline_ns == 0);
  CHECK(o.max_in_flight == 64);
  CHECK(o.dead_letter_topic.empty());
  REQUIRE(config->routes.size() == 1);
  CHECK(config->routes[0].exit_id == 7);
  CHECK(config->routes[0].scheme == "http");
  CHECK(config->routes[0].authority == "localhost:8080");
}

TEST_CASE("every option is read") {
  std::string error;
  const auto config = parse(R"({"acks":"leader_only","idempotency":{"metadata":"idem"},
      "correlation":{"headers":{"service":"s","method":"m","correlation-id":"c","reply-to":"r"}},
      "group-id":"g","retry":{"max-attempts":3,"initial-backoff":"100ms","max-backoff":"2s",
      "backoff-multiplier":1.5,"jitter":0},"deadline":"1.5s","max-in-flight":8,
      "dead-letter-topic":"dlq"})",
                            kRoute, error);
  REQUIRE_MESSAGE(config, error);
  const Options& o = config->options;
  CHECK(o.acks == AckMode::kLeaderOnly);
  CHECK(o.idempotency_metadata == "idem");
  CHECK(o.correlation.service == "s");
  CHECK(o.correlation.method == "m");
  CHECK(o.correlation.correlation_id == "c");
  CHECK(o.correlation.reply_to == "r");
  CHECK(o.group_id == "g");
  CHECK(o.retry.max_attempts == 3);
  CHECK(o.retry.initial_backoff_ns == 100'000'000);
  CHECK(o.retry.max_backoff_ns == 2'000'000'000);
  CHECK(o.retry.backoff_multiplier == 1.5);
  CHECK(o.retry.jitter == 0);
  CHECK(o.deadline_ns == 1'500'000'000);
  CHECK(o.max_in_flight == 8);
  CHECK(o.dead_letter_topic == "dlq");
}

TEST_CASE("conditions: method split as Zilla splits it") {
  std::string error;
  const auto config = parse("{}", R"([{"exit":"grpc0","with":{"scheme":"http","authority":"a"},
      "when":[{"topic":"responses","reply-to":"requests","key":"test",
               "headers":{"custom":"test"},"method":"test/*"},
              {"topic":"t","reply-to":"r","method":"svc.Echo/Unary"},
              {"topic":"t","reply-to":"r","method":"a/b/c"},
              {"topic":"t","reply-to":"r"}]}])",
                            error);
  REQUIRE_MESSAGE(config, error);
  const auto& when = config->routes[0].when;
  REQUIRE(when.size() == 4);
  CHECK(when[0].topic == "responses");
  CHECK(when[0].reply_to == "requests");
  CHECK(when[0].key == std::optional<std::string>("test"));
  REQUIRE(when[0].headers.size() == 1);
  CHECK(when[0].headers[0].first == "custom");
  CHECK(when[0].service == "test");
  CHECK(when[0].method == "*");
  CHECK(when[0].filtersService());
  CHECK_FALSE(when[0].filtersMethod());
  CHECK(when[1].service == "svc.Echo");
  CHECK(when[1].method == "Unary");
  CHECK(when[1].filtersMethod());
  CHECK_FALSE(when[2].filtersService());  // not a full match: no service or method filter
  CHECK_FALSE(when[3].filtersService());
}

TEST_CASE("durations") {
  CHECK(parseDuration("100ms") == 100'000'000);
  CHECK(parseDuration("5s") == 5'000'000'000);
  CHECK(parseDuration("1.5s") == 1'500'000'000);
  CHECK(parseDuration("2m") == 120'000'000'000);
  CHECK(parseDuration("1h") == 3'600'000'000'000);
  CHECK_FALSE(parseDuration("5"));
  CHECK_FALSE(parseDuration("ms"));
  CHECK_FALSE(parseDuration("1.s"));
  CHECK_FALSE(parseDuration("-1s"));
  CHECK_FALSE(parseDuration("1d"));
}

TEST_CASE("a refused config names the field and the rule") {
  struct Case {
    const char* options;
    const char* routes;
    const char* error;
  };
  const Case cases[] = {
      {R"({"acks":"all"})", kRoute, "/options/acks: expected one of none, leader_only, "},
      {R"({"retry":{"max-attempts":0}})", kRoute, "/options/retry/max-attempts: expected an "},
      {R"({"retry":{"initial-backoff":"soon"}})", kRoute, "/options/retry/initial-backoff: "},
      {R"({"retry":{"retries":3}})", kRoute, "/options/retry/retries: unknown property"},
      {R"({"correlation":{"headers":{"tenant":"x"}}})", kRoute,
       "/options/correlation/headers/tenant: unknown property"},
      {R"({"deadline":5})", kRoute, "/options/deadline: expected a duration"},
      {R"({"max-in-flight":0})", kRoute, "/options/max-in-flight: expected an integer"},
      {"{}", R"([{"exit":"grpc0","when":[{"topic":"t"}],"with":{"scheme":"h","authority":"a"}}])",
       "/routes/0/when/0: missing required property reply-to"},
      {"{}", R"([{"exit":"nope","with":{"scheme":"h","authority":"a"}}])",
       "/routes/0/exit: no binding named \"nope\""},
      {"{}", R"([{"exit":"grpc0"}])", "/routes/0: missing required property with"},
      {"{}", R"([{"exit":"grpc0","with":{"scheme":"h"}}])",
       "/routes/0/with: missing required property authority"},
      {"{}",
       R"([{"exit":"grpc0","when":[{"topic":"t","reply-to":"r","method":"/x"}],"with":{"scheme":"h","authority":"a"}}])",
       "/routes/0/when/0/method: expected"},
  };
  for (const Case& c : cases) {
    std::string error;
    CHECK_MESSAGE(!parse(c.options, c.routes, error), c.options << " " << c.routes);
    CHECK_MESSAGE(error.rfind(c.error, 0) == 0, error << " vs " << c.error);
  }
}

}  // namespace
}  // namespace zb::kafka_grpc
