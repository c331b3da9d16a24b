// zilla.yaml edited while zilla-host runs under a steady load, on a real broker: each change is
// applied by replacing only what changed, and every request is answered exactly once (0 lost, 0
// twice) across it, the service called once per request; the new behaviour shows after it.
#include "chain_config.h"
#include "chain_processes.h"
#include "kafka/kafka_tools.h"
#include "kafka_requests.h"
#include "prometheus_scrape.h"

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using zb::test::ChainConfig;
using zb::test::ZillaHost;

const std::string kBuild = ZB_BINARY_DIR;

// The load under which every reload happens: 400 requests of 20-60 ms, at most 8 in flight, so
// about 2 s of work; each reload lands once 40 are answered.
constexpr int kLoad = 400;
constexpr int kReloadAt = 40;

// Topics, two echo services (A, where the route points first, and B), the config and the host.
struct Chain {
  std::string bootstrap = zb::test::fixtureBootstrap();
  std::string suffix = zb::test::uniqueSuffix();
  std::string dir = kBuild + "/tests/integration/reload-" + suffix;
  std::string requests = "reload-requests-" + suffix;
  std::string responses = "reload-responses-" + suffix;
  std::string record_a = dir + "/a.record";
  std::string record_b = dir + "/b.record";
  zb::test::EchoServer echo_a{0, (std::filesystem::create_directories(dir), record_a)};
  zb::test::EchoServer echo_b{0, record_b};
  std::string address_a;
  std::string address_b;
  ChainConfig config;
  std::string path;
  std::unique_ptr<ZillaHost> host;
  int metrics_port = 0;
  zb::test::ReplyCounter replies{bootstrap, responses};

  explicit Chain(const std::string& name) {
    const auto a = echo_a.awaitAddress();
    const auto b = echo_b.awaitAddress();
    REQUIRE(a);
    REQUIRE(b);
    address_a = *a;
    address_b = *b;
    config = ChainConfig{.name = name,
                         .bootstrap = bootstrap,
                         .requests = requests,
                         .responses = responses,
                         .authority = address_a,
                         .max_in_flight = 8,
                         .prometheus = true};
  }

  // Creates the request topics first: a consumer that subscribed before a topic existed sees it
  // only at its next metadata refresh.
  void start() {
    zb::kafka_test::createTopic(bootstrap, requests, 1);
    for (const zb::test::ChainRoute& route : config.more_routes) {
      zb::kafka_test::createTopic(bootstrap, route.requests, 1);
    }
    path = zb::test::writeChainConfig(dir, config);
    host = std::make_unique<ZillaHost>(path);
    REQUIRE_MESSAGE(host->awaitStarted(), host->output());
    const auto port = host->awaitMetricsPort();
    REQUIRE(port);
    metrics_port = *port;
  }

  // Writes the load, then waits until kReloadAt of it are answered.
  void startLoad() {
    zb::test::produceRequests(
        bootstrap, requests, responses,
        {.prefix = "load-", .count = kLoad, .echo_delay_ms = 20, .echo_delay_max_ms = 60});
    REQUIRE_MESSAGE(replies.readUntil([&] { return replies.answered() >= kReloadAt; }, 60s, *host),
                    host->output());
  }

  // Saves `next` as the config and waits for the host to apply it; work must be left then.
  void reloadTo(const ChainConfig& next, const std::string& applied) {
    config = next;
    zb::test::writeChainConfig(dir, config);
    REQUIRE_MESSAGE(host->awaitLine(applied, 60s), host->output());
    replies.readUntil([] { return false; }, 0ms);
    MESSAGE("reloaded with " << replies.answered() << " of " << kLoad << " answered");
  }

  // `expected` requests on the reply topic answered once each, `only_zero` of them with status 0,
  // and both echo services together called once per request (`service_calls`, when other topics'
  // requests reach them too).
  void checkAnsweredOnce(size_t expected, size_t only_zero, size_t service_calls = 0) {
    REQUIRE_MESSAGE(replies.readUntil([&] { return replies.answered() >= expected; }, 120s, *host),
                    host->output());
    CHECK(replies.readToEnd(30s));
    MESSAGE("answered " << replies.answered() << " of " << expected << ", twice "
                        << replies.answeredMoreThanOnce() << ", service calls "
                        << zb::test::recordedMessages(record_a) +
                               zb::test::recordedMessages(record_b));
    CHECK(replies.answered() == expected);
    CHECK(replies.answeredMoreThanOnce() == 0);
    CHECK(replies.answeredOnlyWith("0") == only_zero);
    CHECK(zb::test::recordedMessages(record_a) + zb::test::recordedMessages(record_b) ==
          (service_calls != 0 ? service_calls : expected));
  }

  double metric(const std::string& family, const std::string& label = "") {
    return zb::test::metricValue(zb::test::scrapeMetrics(metrics_port), family, label);
  }
};

}  // namespace

TEST_CASE("reload: a route's authority moved to a second service, under load") {
  Chain chain("reload-authority");
  chain.start();
  chain.startLoad();
  ChainConfig moved = chain.config;
  moved.authority = chain.address_b;
  chain.reloadTo(moved, "applied: replaced kafka_grpc0; kept kafka_client0, grpc_client0");
  CHECK(chain.replies.answered() < kLoad);  // the reload landed while work was left
  CHECK(chain.replies.readUntil([&] { return chain.replies.answered() == kLoad; }, 120s,
                                *chain.host));
  const size_t a_done = zb::test::recordedMessages(chain.record_a);
  // Requests written after the reload go to the second service only.
  zb::test::produceRequests(chain.bootstrap, chain.requests, chain.responses,
                            {.prefix = "after-", .count = 20});
  chain.checkAnsweredOnce(kLoad + 20, kLoad + 20);
  MESSAGE("service A: " << a_done << " calls, B: " << zb::test::recordedMessages(chain.record_b));
  CHECK(zb::test::recordedMessages(chain.record_a) == a_done);
  // B got the 20, and the part of the load that had not started at the reload.
  CHECK(zb::test::recordedMessages(chain.record_b) > 20);
  CHECK(chain.host->output().find("the previous instance is released") != std::string::npos);
  CHECK(chain.metric("zilla_host_config_reloads_total", "outcome=\"applied\"") == 1);
  zb::test::checkStopsCleanly(*chain.host);
}

TEST_CASE("reload: max-in-flight and deadline changed, under load") {
  Chain chain("reload-limits");
  chain.config.max_in_flight = 4;
  chain.start();
  chain.startLoad();
  ChainConfig wider = chain.config;
  wider.max_in_flight = 16;
  // Counted from a call's first record, waiting for a slot included: room for the load's backlog.
  wider.deadline = "5s";
  chain.reloadTo(wider, "applied: replaced kafka_grpc0");
  CHECK(chain.replies.answered() < kLoad);
  // The rest of the load runs up to 16 at a time (the old bound held it to 4).
  double most_in_flight = 0;
  while (chain.replies.answered() < kLoad) {
    most_in_flight = std::max(most_in_flight, chain.metric("kafka_grpc_in_flight"));
    if (!chain.replies.readUntil([&] { return chain.replies.answered() == kLoad; }, 20ms,
                                 *chain.host) &&
        !chain.host->alive()) {
      break;
    }
  }
  MESSAGE("most calls in flight seen after the reload: " << most_in_flight);
  CHECK(most_in_flight > 4);
  // Two calls of 6 s: past the new deadline, answered 4 (before the reload there was none).
  zb::test::produceRequests(chain.bootstrap, chain.requests, chain.responses,
                            {.prefix = "slow-", .count = 2, .echo_delay_ms = 6000});
  CHECK(chain.replies.readUntil([&] { return chain.replies.answered() == kLoad + 2; }, 60s,
                                *chain.host));
  CHECK(chain.replies.readToEnd(30s));
  CHECK(chain.replies.answered() == kLoad + 2);
  CHECK(chain.replies.answeredMoreThanOnce() == 0);
  CHECK(chain.replies.answeredOnlyWith("0") == kLoad);
  CHECK(chain.replies.answeredOnlyWith("4") == 2);
  CHECK(zb::test::recordedMessages(chain.record_a) == kLoad + 2);
  zb::test::checkStopsCleanly(*chain.host);
}

TEST_CASE("reload: a route added and one removed, under load") {
  Chain chain("reload-routes");
  const std::string old_responses = "reload-old-" + chain.suffix;
  const std::string new_responses = "reload-new-" + chain.suffix;
  // The removed and the added route share one topic, told apart by reply-to.
  const std::string shared = "reload-shared-" + chain.suffix;
  chain.config.more_routes = {{shared, old_responses, chain.address_a}};
  chain.start();
  zb::test::ReplyCounter old_replies(chain.bootstrap, old_responses);
  zb::test::ReplyCounter new_replies(chain.bootstrap, new_responses);
  zb::test::produceRequests(chain.bootstrap, shared, old_responses, {.prefix = "old-", .count = 1});
  REQUIRE(old_replies.readUntil([&] { return old_replies.answered() == 1; }, 60s, *chain.host));

  chain.startLoad();
  ChainConfig next = chain.config;
  next.more_routes = {{shared, new_responses, chain.address_a}};
  chain.reloadTo(next, "applied: replaced kafka_grpc0");
  CHECK(chain.replies.answered() < kLoad);
  // After the reload: a request for the removed route, then one for the added route, on the one
  // partition of their topic. The second answered means the first was read, and passed over.
  zb::test::produceRequests(chain.bootstrap, shared, old_responses,
                            {.prefix = "old-after-", .count = 1});
  zb::test::produceRequests(chain.bootstrap, shared, new_responses, {.prefix = "new-", .count = 1});
  CHECK(new_replies.readUntil([&] { return new_replies.answered() == 1; }, 60s, *chain.host));
  CHECK(new_replies.answeredOnlyWith("0") == 1);
  CHECK(old_replies.readToEnd(30s));
  CHECK(old_replies.answered() == 1);  // only the one from before the reload
  CHECK(chain.metric("kafka_fetch_skipped_total") >= 1);
  // The service also answered the two requests of the shared topic.
  chain.checkAnsweredOnce(kLoad, kLoad, kLoad + 2);
  zb::test::checkStopsCleanly(*chain.host);
}

TEST_CASE("reload: an invalid edit is refused and changes nothing; the next valid one applies") {
  Chain chain("reload-invalid");
  chain.start();
  chain.startLoad();
  // Written in place this time (not renamed over), as `sed -i` or a careless editor does.
  std::string text = zb::test::chainYaml(chain.config);
  const std::string bound = "max-in-flight: 8";
  REQUIRE(text.find(bound) != std::string::npos);
  text.replace(text.find(bound), bound.size(), "max-in-flight: lots");
  std::ofstream(chain.path, std::ios::trunc) << text;
  REQUIRE_MESSAGE(chain.host->awaitLine("reload \\(the file changed\\) refused, the running "
                                        "config stays",
                                        60s),
                  chain.host->output());
  CHECK(chain.host->awaitLine(
      "zilla.yaml:[0-9]+:[0-9]+ /bindings/kafka_grpc0/options/max-in-flight", 10s));
  CHECK(chain.replies.answered() < kLoad);
  CHECK_MESSAGE(chain.metric("zilla_host_config_reloads_total", "outcome=\"invalid\"") == 1,
                chain.host->output());
  // The running config is untouched: no binding was replaced, and the load goes on to the end.
  CHECK(chain.host->output().find("applied:") == std::string::npos);
  ChainConfig valid = chain.config;
  valid.max_in_flight = 4;
  chain.reloadTo(valid, "applied: replaced kafka_grpc0");
  chain.checkAnsweredOnce(kLoad, kLoad);
  CHECK(chain.metric("zilla_host_config_reloads_total", "outcome=\"applied\"") == 1);
  // SIGHUP reloads the same text again: nothing to change, and the host keeps running.
  kill(chain.host->pid(), SIGHUP);
  CHECK(chain.host->awaitLine("reload \\(SIGHUP\\): no binding changed", 30s));
  CHECK(chain.metric("zilla_host_config_reloads_total", "outcome=\"unchanged\"") == 1);
  zb::test::checkStopsCleanly(*chain.host);
}
