// A Kafka broker of a test's own (scripts/kafka/broker.sh, a KRaft node on a free port), for a
// test that stops, kills and starts it: the shared kafka_broker fixture serves other tests
// meanwhile.
#pragma once

#include "support/free_port.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <utility>

namespace zb::test {

// One port and one data dir for its whole life, so a start after a stop is the same broker;
// stopped and its dir removed when the test ends, whatever happens.
class OwnBroker {
 public:
  explicit OwnBroker(std::string dir) : port_(freePort()), dir_(std::move(dir)) {}
  ~OwnBroker() {
    run("stop " + dir_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;

  // A data dir apart from any other run's: `prefix`, this process's id and a random number.
  static std::string uniqueDir(const std::string& prefix) {
    std::random_device device;
    return prefix + std::to_string(::getpid()) + "-" + std::to_string(device() % 1000000u);
  }

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  // broker.sh start returns once the broker answers a metadata request.
  void start() { REQUIRE(run("start " + dir_ + " " + std::to_string(port_)) == 0); }
  // A clean stop (SIGTERM, then the script waits for the JVM to exit).
  void stop() { REQUIRE(run("stop " + dir_) == 0); }
  // A crash: SIGKILL, no clean shutdown (the script waits for the JVM to be gone). The next
  // start() recovers the logs from what reached the file system.
  void kill() { REQUIRE(run("kill " + dir_) == 0); }

 private:
  static int run(const std::string& args) {
    return std::system((ZB_SOURCE_DIR "/scripts/kafka/broker.sh " + args + " >&2").c_str());
  }

  int port_;
  std::string dir_;
};

}  // namespace zb::test
