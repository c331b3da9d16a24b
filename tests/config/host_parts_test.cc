// The parts of zilla-host, in process: command line, plugin directories, structured logs with
// secret masking, the metric registry's Prometheus text, the metrics HTTP server, and the plugin
// lookup with the zbtest plugin.
#include "binding_plugins.h"
#include "command_line.h"
#include "config_watcher.h"
#include "metric_registry.h"
#include "metrics_http_server.h"
#include "structured_log.h"
#include "utf8.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace zb::host;

namespace {

std::optional<CommandLine> parse(std::vector<std::string> args, std::string& error) {
  return parseCommandLine(args, error);
}

// GET `target` from 127.0.0.1:`port`; the whole response.
std::string httpGet(int port, const std::string& target, const std::string& method = "GET") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  const std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
    reply.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

}  // namespace

TEST_CASE("command line: commands, options, defaults and usage errors") {
  std::string error;
  auto line = parse({"start", "-c", "etc/zilla.yaml", "--plugins", "/a", "--plugins=/b", "-v",
                     "--log-format", "text", "--drain-timeout", "500ms"},
                    error);
  REQUIRE_MESSAGE(line.has_value(), error);
  CHECK(line->command == Command::kStart);
  CHECK(line->config_path == "etc/zilla.yaml");
  CHECK(line->plugin_dirs == std::vector<std::string>{"/a", "/b"});
  CHECK(line->log_level == ZB_LOG_DEBUG);
  CHECK(line->log_format == LogFormat::kText);
  CHECK(line->drain_timeout_ns == 500'000'000);

  line = parse({"validate"}, error);
  REQUIRE(line.has_value());
  CHECK(line->command == Command::kValidate);
  CHECK(line->config_path == "zilla.yaml");
  CHECK(line->drain_timeout_ns == 10'000'000'000);

  CHECK(parse({"--help"}, error)->command == Command::kHelp);
  CHECK(parse({"--version"}, error)->command == Command::kVersion);
  CHECK_FALSE(parse({}, error));
  CHECK(error == "a command is required: start or validate");
  CHECK_FALSE(parse({"run"}, error));
  CHECK(error == "unknown command run");
  CHECK_FALSE(parse({"start", "--frobnicate"}, error));
  CHECK(error == "unknown option --frobnicate");
  CHECK_FALSE(parse({"start", "-c"}, error));
  CHECK(error == "-c needs a value");
  CHECK_FALSE(parse({"start", "--log-level", "loud"}, error));
  CHECK_FALSE(parse({"start", "--drain-timeout", "soon"}, error));
}

TEST_CASE("durations") {
  CHECK(parseDuration("10s") == 10'000'000'000);
  CHECK(parseDuration("10") == 10'000'000'000);
  CHECK(parseDuration("250ms") == 250'000'000);
  CHECK(parseDuration("2m") == 120'000'000'000);
  CHECK(parseDuration("0") == 0);
  CHECK_FALSE(parseDuration("-1s"));
  CHECK_FALSE(parseDuration("1h"));
  CHECK_FALSE(parseDuration(""));
}

TEST_CASE("plugin directories: options and ZILLA_PLUGIN_PATH, else next to the executable") {
  CHECK(pluginDirectories({"/opt/b/", "/opt/a"}, "/x:/opt/a::/y", "/usr/bin") ==
        std::vector<std::string>{"/opt/b", "/opt/a", "/x", "/y"});
  CHECK(pluginDirectories({}, nullptr, "/opt/zb/runtime/host") ==
        std::vector<std::string>{"/opt/zb/runtime/bindings", "/opt/zb/runtime/host/bindings"});
  CHECK(pluginDirectories({}, "", "/opt/zb/bin") ==
        std::vector<std::string>{"/opt/zb/bindings", "/opt/zb/bin/bindings"});
  // Run from the build tree: the build's bindings directory comes first.
  const auto in_build = pluginDirectories({}, nullptr, ZB_BINARY_DIR "/runtime/host");
  REQUIRE(in_build.size() == 3);
  CHECK(in_build[0] == ZB_BINARY_DIR "/bindings");
  const auto relative = pluginDirectories({"plugins"}, nullptr, "/usr/bin");
  REQUIRE(relative.size() == 1);
  CHECK(relative[0] == (std::filesystem::current_path() / "plugins").generic_string());
}

TEST_CASE("structured log: one JSON object per line, escaped, secrets masked") {
  StructuredLog log(stdout, ZB_LOG_INFO, LogFormat::kJson);
  log.setSecrets({"hunter2-secret", "abc"});
  const int64_t ts = 1714564800123;  // 2024-05-01T12:00:00.123Z
  CHECK(log.formatLine(ZB_LOG_WARN, "kafka_grpc0", "say \"hi\"\n\tnow", ts) ==
        R"({"ts":"2024-05-01T12:00:00.123Z","level":"warn","binding":"kafka_grpc0",)"
        R"("msg":"say \"hi\"\n\tnow"})");
  CHECK(log.formatLine(ZB_LOG_INFO, "", "password hunter2-secret, short abc", ts) ==
        R"({"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"password ***, short abc"})");
  CHECK(jsonEscaped(std::string("\x01 caf\xC3\xA9 \xFF", 9)) == "\\u0001 caf\xC3\xA9 \xEF\xBF\xBD");

  StructuredLog text(stdout, ZB_LOG_INFO, LogFormat::kText);
  CHECK(text.formatLine(ZB_LOG_ERROR, "engine", "two\nlines", ts) ==
        "2024-05-01T12:00:00.123Z ERROR engine: two lines");
}

TEST_CASE("secret-looking variable names") {
  CHECK(looksSecret("KAFKA_SASL_PASSWORD"));
  CHECK(looksSecret("api_token"));
  CHECK(looksSecret("TLS_PRIVATE_KEY"));
  CHECK(looksSecret("BASIC_AUTH"));
  CHECK_FALSE(looksSecret("ECHO_SERVER_AUTHORITY"));
  CHECK_FALSE(looksSecret("KAFKA_BOOTSTRAP_SERVER"));
  CHECK_FALSE(looksSecret("ECHO_SERVER_PORT"));
}

TEST_CASE("metric registry renders counters, gauges and histograms in Prometheus text") {
  MetricRegistry metrics("example");
  const uint32_t calls =
      metrics.declare(ZB_METRIC_COUNTER, "kafka_grpc0", "grpc.calls", "status=\"0\"");
  CHECK(metrics.declare(ZB_METRIC_COUNTER, "kafka_grpc0", "grpc.calls", "status=\"0\"") == calls);
  const uint32_t failed =
      metrics.declare(ZB_METRIC_COUNTER, "kafka_grpc0", "grpc.calls", "status=\"14\"");
  const uint32_t inflight = metrics.declare(ZB_METRIC_GAUGE, "kafka_grpc0", "calls.in.flight", "");
  const uint32_t latency =
      metrics.declare(ZB_METRIC_HISTOGRAM, "grpc0", "call.duration.us", "method=\"a\\\"b\"");
  CHECK(calls != 0);
  CHECK(failed != calls);
  metrics.record(calls, 3);
  metrics.record(calls, -5);  // counters never go down
  metrics.record(failed, 1);
  metrics.record(inflight, 4);
  metrics.record(inflight, -1);
  metrics.record(latency, 1);
  metrics.record(latency, 3);
  metrics.record(latency, 1 << 20);
  metrics.record(latency, int64_t{1} << 50);  // beyond the last bucket: +Inf only
  metrics.record(0, 1);                       // ignored
  metrics.record(999, 1);                     // ignored

  const std::string text = metrics.renderPrometheus();
  INFO(text);
  const std::string labels = R"(namespace="example",binding="kafka_grpc0")";
  CHECK(text.find("# TYPE grpc_calls_total counter\n"
                  "grpc_calls_total{" +
                  labels +
                  ",status=\"0\"} 3\n"
                  "grpc_calls_total{" +
                  labels + ",status=\"14\"} 1\n") != std::string::npos);
  CHECK(text.find("# TYPE calls_in_flight gauge\ncalls_in_flight{" + labels + "} 3\n") !=
        std::string::npos);
  const std::string h = R"(namespace="example",binding="grpc0",method="a\"b")";
  CHECK(text.find("# TYPE call_duration_us histogram\n") != std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"1\"} 1\n") != std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"2\"} 1\n") != std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"4\"} 2\n") != std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"1048576\"} 3\n") != std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"1099511627776\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("call_duration_us_bucket{" + h + ",le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(text.find("call_duration_us_count{" + h + "} 4\n") != std::string::npos);
  CHECK(text.find("call_duration_us_sum{" + h + "} " +
                  std::to_string(1 + 3 + (1 << 20) + (int64_t{1} << 50)) + "\n") !=
        std::string::npos);
  // Families are sorted by name; each TYPE line appears once.
  CHECK(text.find("# TYPE call_duration_us") < text.find("# TYPE calls_in_flight"));
  CHECK(text.find("# TYPE grpc_calls_total", text.find("# TYPE grpc_calls_total") + 1) ==
        std::string::npos);
}

TEST_CASE("metric label values: always UTF-8, and bounded, whatever a binding passes") {
  MetricRegistry metrics("n");
  const std::string huge(65583, 'm');
  metrics.record(metrics.declare(ZB_METRIC_COUNTER, "b", "calls",
                                 "method=\"Bad\xff\xfeName\",topic=\"t\xc3\"," +
                                     std::string("long=\"") + huge + "\""),
                 1);
  const std::string text = metrics.renderPrometheus();
  INFO(text.substr(0, 300));
  // Each byte that is not UTF-8 became U+FFFD; the huge value was cut at 256 bytes, with "…".
  CHECK(text.find("method=\"Bad\xEF\xBF\xBD\xEF\xBF\xBDName\"") != std::string::npos);
  CHECK(text.find("topic=\"t\xEF\xBF\xBD\"") != std::string::npos);
  CHECK(text.find("long=\"" + std::string(253, 'm') + "\xE2\x80\xA6\"") != std::string::npos);
  CHECK(text.size() < 1000);
  for (size_t i = 0; i < text.size();) {
    const size_t length = zb::host::utf8Length(text, i);
    REQUIRE_MESSAGE(length != 0, "not UTF-8 at byte " << i);
    i += length;
  }
}

TEST_CASE("metric names: sanitized, counters get _total, clashing kinds get their own family") {
  CHECK(MetricRegistry::familyName(ZB_METRIC_COUNTER, "stream.opened") == "stream_opened_total");
  CHECK(MetricRegistry::familyName(ZB_METRIC_COUNTER, "sent_total") == "sent_total");
  CHECK(MetricRegistry::familyName(ZB_METRIC_GAUGE, "9lives-x") == "_9lives_x");
  MetricRegistry metrics("n");
  metrics.record(metrics.declare(ZB_METRIC_GAUGE, "b", "depth", ""), 1);
  metrics.record(metrics.declare(ZB_METRIC_HISTOGRAM, "b", "depth", ""), 1);
  const std::string text = metrics.renderPrometheus();
  CHECK(text.find("# TYPE depth gauge") != std::string::npos);
  CHECK(text.find("# TYPE depth_histogram histogram") != std::string::npos);
}

TEST_CASE("metric registry: renders while the engine thread declares and records") {
  MetricRegistry metrics("n");
  std::atomic<bool> done{false};
  // The engine thread: registers new series as it goes and records into all of them.
  std::thread engine([&] {
    std::vector<uint32_t> ids;
    for (int round = 0; round < 2000; ++round) {
      if (round % 100 == 0) {
        const std::string labels = "round=\"" + std::to_string(round) + "\"";
        ids.push_back(metrics.declare(ZB_METRIC_HISTOGRAM, "b", "h", labels));
        ids.push_back(metrics.declare(ZB_METRIC_COUNTER, "b", "c", labels));
      }
      for (const uint32_t id : ids) {
        metrics.record(id, round);
      }
    }
    done = true;
  });
  uint64_t last_total = 0;
  int scrapes = 0;
  while (!done || scrapes < 2) {
    const std::string text = metrics.renderPrometheus();
    ++scrapes;
    // Within each histogram series, _count equals the +Inf bucket.
    size_t at = 0;
    while ((at = text.find("h_bucket{", at)) != std::string::npos) {
      const size_t inf = text.find("le=\"+Inf\"} ", at);
      if (inf == std::string::npos) break;
      const size_t value_at = inf + 11;
      const std::string inf_value = text.substr(value_at, text.find('\n', value_at) - value_at);
      const size_t count_at = text.find("h_count{", inf);
      REQUIRE(count_at != std::string::npos);
      const size_t count_value_at = text.find("} ", count_at) + 2;
      CHECK(text.substr(count_value_at, text.find('\n', count_value_at) - count_value_at) ==
            inf_value);
      at = count_at;
    }
    // Counters never go down between scrapes.
    const size_t first = text.find("c_total{namespace=\"n\",binding=\"b\",round=\"0\"} ");
    if (first != std::string::npos) {
      const uint64_t total = std::stoull(text.substr(text.find("} ", first) + 2));
      CHECK(total >= last_total);
      last_total = total;
    }
  }
  engine.join();
  const std::string text = metrics.renderPrometheus();
  const size_t first = text.find("c_total{namespace=\"n\",binding=\"b\",round=\"0\"} ");
  REQUIRE(first != std::string::npos);
  CHECK(std::stoull(text.substr(text.find("} ", first) + 2)) == 1999 * 2000 / 2);
  CHECK(scrapes >= 2);
}

TEST_CASE("metrics HTTP server: GET the path, 404 elsewhere, 405 for other methods") {
  MetricRegistry metrics("example");
  metrics.record(metrics.declare(ZB_METRIC_COUNTER, "b0", "frames", ""), 7);
  MetricsHttpServer server(metrics, "/metrics");
  std::string error;
  REQUIRE_MESSAGE(server.listen(0, error), error);
  CHECK(server.port() > 0);
  server.start();

  const std::string ok = httpGet(server.port(), "/metrics");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(ok.find("frames_total{namespace=\"example\",binding=\"b0\"} 7\n") != std::string::npos);
  CHECK(httpGet(server.port(), "/metrics?x=1").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(httpGet(server.port(), "/other").rfind("HTTP/1.1 404 Not Found", 0) == 0);
  CHECK(httpGet(server.port(), "/metrics", "POST").rfind("HTTP/1.1 405", 0) == 0);
  const std::string head = httpGet(server.port(), "/metrics", "HEAD");
  CHECK(head.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(head.find("frames_total") == std::string::npos);
  CHECK(server.respond("garbage").rfind("HTTP/1.1 400", 0) == 0);
  server.stop();

  MetricsHttpServer taken(metrics, "/metrics");
  CHECK_FALSE(taken.listen(server.port(), error));  // still bound by `server`
  CHECK(error.find("cannot listen on port") != std::string::npos);
}

TEST_CASE("binding plugins: found only in the given directories, schema published") {
  BindingPlugins plugins({"/nonexistent", ZB_TEST_PLUGIN_DIR});
  std::string message;
  const zb::runtime::SchemaValidator* schema = plugins.schemaFor("zbtest", message);
  REQUIRE_MESSAGE(schema != nullptr, message);
  CHECK(plugins.plugin("zbtest") != nullptr);
  CHECK_FALSE(plugins.loadFailed());
  Json::Value entry;
  entry["type"] = "zbtest";
  entry["kind"] = "proxy";
  const auto problems = schema->validate(entry);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].pointer == "/kind");
  CHECK(problems[0].message == "must be one of: server, client");

  CHECK(plugins.schemaFor("missing", message) == nullptr);
  CHECK(message ==
        "no plugin for type \"missing\" (looked for libbinding-missing.so in: "
        "/nonexistent, " ZB_TEST_PLUGIN_DIR ")");
  CHECK(plugins.schemaFor("../zbtest", message) == nullptr);
  CHECK(message == "\"../zbtest\" is not a binding type name");
  CHECK_FALSE(plugins.loadFailed());
}

TEST_CASE("binding plugins: a file that is not a binding is a load failure") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("zb-broken-plugin-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libbinding-broken.so") << "not an ELF file";
  BindingPlugins plugins({dir.string()});
  std::string message;
  CHECK(plugins.schemaFor("broken", message) == nullptr);
  CHECK(plugins.loadFailed());
  CHECK(message.rfind("plugin for type \"broken\" cannot be loaded: " + dir.string() +
                          "/libbinding-broken.so: cannot load",
                      0) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the config watcher sees a ConfigMap-style swap of the ..data symlink") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("zb-watch-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "v1");
  fs::create_directories(dir / "v2");
  std::ofstream(dir / "v1" / "zilla.yaml") << "name: one\n";
  std::ofstream(dir / "v2" / "zilla.yaml") << "name: two\n";
  fs::create_directory_symlink("v1", dir / "..data");
  fs::create_symlink("..data/zilla.yaml", dir / "zilla.yaml");

  std::mutex mutex;
  std::condition_variable changed;
  int changes = 0;
  ConfigWatcher watcher((dir / "zilla.yaml").string(), [&] {
    std::lock_guard<std::mutex> lock(mutex);
    ++changes;
    changed.notify_all();
  });
  REQUIRE(watcher.ok());
  // As the kubelet updates a ConfigMap volume: a new `..data` link, renamed over the old one.
  fs::create_directory_symlink("v2", dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  std::unique_lock<std::mutex> lock(mutex);
  CHECK(changed.wait_for(lock, std::chrono::seconds(10), [&] { return changes > 0; }));
  lock.unlock();
  std::ifstream in(dir / "zilla.yaml");
  std::string first;
  std::getline(in, first);
  CHECK(first == "name: two");
  fs::remove_all(dir);
}
