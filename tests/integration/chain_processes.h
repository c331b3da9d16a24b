// The processes of the chain under test, built in this build tree: zilla-host running a config,
// and the example echo service (examples/echo).
#pragma once

#include "child_process.h"

#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace zb::test {

// zilla-host `start` with a config, its log as text so that a test can wait for its lines.
class ZillaHost : public ChildProcess {
 public:
  explicit ZillaHost(const std::string& config, const std::vector<std::string>& env = {})
      : ChildProcess({ZB_BINARY_DIR "/runtime/host/zilla-host", "start", "-c", config,
                      "--log-format", "text"},
                     env) {}

  // Signals are only watched once it has started: a test that ends it with SIGTERM waits for
  // this first (before, SIGTERM kills it with status 143).
  bool awaitStarted(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return awaitLine("started [0-9]+ bindings", timeout).has_value();
  }

  // The port of its Prometheus endpoint (ChainConfig::prometheus), once it logs it.
  std::optional<int> awaitMetricsPort(
      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto port = awaitLine("serving http://0\\.0\\.0\\.0:([0-9]+)/metrics", timeout);
    return port ? std::optional<int>(std::stoi(*port)) : std::nullopt;
  }
};

// Ends `host` with SIGTERM, which must be a clean exit, and shows what a sanitizer reported (under
// ZB_SANITIZE a leak report does not change the exit status, see CMakeLists.txt).
inline void checkStopsCleanly(ZillaHost& host) {
  CHECK(host.stop(SIGTERM) == 0);
  const std::string report = host.sanitizerReport();
  if (!report.empty()) {
    MESSAGE("zilla-host's sanitizer report:\n" << report);
  }
}

// The gRPC echo service on `port` (0: one the kernel picks); with `record`, it appends a line per
// request message it receives to that file (echo-server --record).
class EchoServer : public ChildProcess {
 public:
  explicit EchoServer(int port = 0, const std::string& record = "")
      : ChildProcess(arguments(port, record)) {}

  // The host:port it listens on, once it says so.
  std::optional<std::string> awaitAddress(
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return awaitLine("(127\\.0\\.0\\.1:[0-9]+)", timeout);
  }

 private:
  static std::vector<std::string> arguments(int port, const std::string& record) {
    std::vector<std::string> argv = {ZB_BINARY_DIR "/examples/echo/echo-server", "--port",
                                     std::to_string(port)};
    if (!record.empty()) {
      argv.insert(argv.end(), {"--record", record});
    }
    return argv;
  }
};

// Request messages an echo service received so far: the lines of its --record file.
inline size_t recordedMessages(const std::string& record) {
  std::ifstream in(record);
  size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
  }
  return lines;
}

}  // namespace zb::test
