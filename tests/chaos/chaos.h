// What the chaos tests share: the load (ZB_CHAOS_REQUESTS unary requests with random delays) and
// the max-in-flight that makes it outlast the faults, topics created for one test, a group of
// zilla-host processes with one config (so one consumer group) that a test starts, stops and
// kills one at a time, and the tally of the answers that every test prints and asserts.
#pragma once

#include "integration/chain_config.h"
#include "integration/chain_processes.h"
#include "integration/kafka_requests.h"
#include "kafka/kafka_tools.h"
#include "support/free_port.h"

#include <librdkafka/rdkafka.h>

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace zb::chaos {

using namespace std::chrono_literals;
using test::ReplyCounter;
using test::RequestBatch;
using test::ZillaHost;

// ---- The load

// ZB_CHAOS_REQUESTS, or the short load CI runs. scripts/chaos.sh sets 20000.
inline int chaosRequests(int short_load = 3000) {
  const char* value = std::getenv("ZB_CHAOS_REQUESTS");
  const int requests = value != nullptr && *value != '\0' ? std::atoi(value) : short_load;
  REQUIRE_MESSAGE(requests > 0, "ZB_CHAOS_REQUESTS must be a positive number");
  return requests;
}

// The echo service waits 50-500 ms per call (drawn per request): calls end out of order and
// many are in flight whenever a fault lands.
constexpr int kMinDelayMs = 50;
constexpr int kMaxDelayMs = 500;
constexpr double kMeanDelayMs = (kMinDelayMs + kMaxDelayMs) / 2.0;

inline RequestBatch unaryLoad(int count, const std::string& prefix = "req-") {
  return RequestBatch{.prefix = prefix,
                      .count = count,
                      .echo_delay_ms = kMinDelayMs,
                      .echo_delay_max_ms = kMaxDelayMs};
}

// A fault injected into an idle host proves nothing, so the load must outlast the faults. At
// full speed it lasts requests x mean delay / (hosts x max-in-flight); the rule: max-in-flight
// is the largest power of two up to 64 (the binding's default) with which that is still at
// least 15 s, and at least 4. With 3 hosts: 3000 requests -> 16 (17 s), 20000 -> 64 (29 s); with
// one host: 3000 -> 32 (26 s), 20000 -> 64 (86 s). Each test also checks that work was left
// when its last fault was over.
inline int maxInFlightFor(int requests, int hosts) {
  constexpr double kLoadSeconds = 15;
  int max_in_flight = 64;
  while (max_in_flight > 4 &&
         requests * kMeanDelayMs / 1000 / (hosts * max_in_flight) < kLoadSeconds) {
    max_in_flight /= 2;
  }
  return max_in_flight;
}

// Group timings short enough that a member that is gone (killed, or left) is noticed within
// seconds, so a test spends its time on the work rather than on waiting for the group.
inline const std::vector<std::pair<std::string, std::string>> kGroupTimeouts = {
    {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};

// ---- Topics, records, processes

struct ChaosTopics {
  std::string requests;
  std::string responses;
};

// The request topic with `partitions` partitions and a one-partition reply topic, names no other
// run uses, created before anything subscribes (never the broker's auto-create defaults).
inline ChaosTopics createTopics(const std::string& bootstrap, const std::string& name,
                                int partitions, const std::string& suffix) {
  const ChaosTopics topics{name + "-requests-" + suffix, name + "-responses-" + suffix};
  kafka_test::createTopic(bootstrap, topics.requests, partitions);
  kafka_test::createTopic(bootstrap, topics.responses, 1);
  return topics;
}

inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The last `count` lines of a process's output: enough to see why, short enough to read.
inline std::string lastLines(const std::string& output, size_t count = 40) {
  size_t at = output.size();
  for (size_t lines = 0; at > 0 && lines <= count;) {
    at = output.rfind('\n', at - 1);
    if (at == std::string::npos) {
      return output;
    }
    ++lines;
  }
  return output.substr(at + 1);
}

// The resident set of `pid` in KiB (VmRSS of /proc/<pid>/status); 0 once it is gone.
inline long residentKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      return std::atol(line.c_str() + 6);
    }
  }
  return 0;
}

// A request record in Zilla's format (UnaryEcho's are what produceRequests writes): key and
// correlation id `id`, the value (nullopt: the tombstone that ends the request), then `extra`
// headers; for the tests that write streams of records, or records nobody should write.
inline kafka_test::Record requestRecord(const std::string& id, const std::string& method,
                                        const std::string& reply_to,
                                        std::optional<std::string> value,
                                        const kafka_test::Headers& extra = {}) {
  kafka_test::Record record;
  record.key = id;
  record.value = std::move(value);
  record.headers = {{"zilla:service", "grpc.examples.echo.Echo"},
                    {"zilla:method", method},
                    {"zilla:reply-to", reply_to},
                    {"zilla:correlation-id", id}};
  record.headers.insert(record.headers.end(), extra.begin(), extra.end());
  return record;
}

// ---- Hosts of one group

// zilla-host processes with one config, hence one consumer group, each in a slot a test starts,
// stops and kills. Every wait reads the reply topic and drains every host's output meanwhile,
// so no host blocks on a full pipe while the test waits on another.
class HostGroup {
 public:
  HostGroup(std::string config, std::string requests_topic, ReplyCounter& replies, size_t slots)
      : config_(std::move(config)),
        assigned_("assigned " + requests_topic + "\\[[0-9]+\\]"),
        replies_(replies),
        hosts_(slots) {}

  ZillaHost& operator[](size_t slot) { return *hosts_.at(slot); }
  size_t slots() const { return hosts_.size(); }
  bool running(size_t slot) { return hosts_.at(slot) != nullptr && hosts_[slot]->alive(); }

  // Starts a host in `slot` (its previous host must have exited) and waits until it has started
  // (signals are watched from then on) and, unless `await_assigned` is false, until it has been
  // assigned a partition of the request topic: it takes part in the work. On a timeout the test
  // stops here.
  void start(size_t slot, bool await_assigned = true,
             std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    REQUIRE((hosts_.at(slot) == nullptr || !hosts_[slot]->alive()));
    hosts_[slot] = std::make_unique<ZillaHost>(config_);
    ZillaHost& host = *hosts_[slot];
    const bool started =
        readUntil([&] { return host.awaitStarted(0ms) || !host.alive(); }, timeout) && host.alive();
    REQUIRE_MESSAGE(started, "host " << slot << " did not start:\n" << lastLines(host.output()));
    if (await_assigned) {
      const bool assigned = readUntil(
          [&] { return host.awaitLine(assigned_, 0ms).has_value() || !host.alive(); }, timeout);
      REQUIRE_MESSAGE((assigned && host.alive()), "host " << slot << " got no partition:\n"
                                                          << lastLines(host.output()));
    }
  }

  // Sends `signal` to the host in `slot` and waits for its exit (60 s, then SIGKILL); returns its
  // exit status (128 + the signal when a signal ended it).
  int stop(size_t slot, int signal) {
    ZillaHost& host = *hosts_.at(slot);
    if (host.alive()) {
      ::kill(host.pid(), signal);
      readUntil([&] { return !host.alive(); }, 60s);
    }
    const int status = host.alive() ? host.stop(SIGKILL) : host.wait();
    host.drain();
    return status;
  }

  // Reads the reply topic until `done()` or the timeout, draining every host meanwhile.
  template <typename Done>
  bool readUntil(Done done, std::chrono::milliseconds timeout) {
    return replies_.readUntil(
        [&] {
          drain();
          return done();
        },
        timeout);
  }

  void drain() {
    for (auto& host : hosts_) {
      if (host != nullptr) {
        host->drain();
      }
    }
  }

  // The last lines of every host's output, for the context of a failure.
  std::string outputs() const {
    std::ostringstream out;
    for (size_t slot = 0; slot < hosts_.size(); ++slot) {
      if (hosts_[slot] != nullptr) {
        out << "--- host " << slot << " (last lines):\n" << lastLines(hosts_[slot]->output());
      }
    }
    return out.str();
  }

 private:
  std::string config_;
  std::string assigned_;
  ReplyCounter& replies_;
  std::vector<std::unique_ptr<ZillaHost>> hosts_;
};

// A consumer group as the broker describes it (the admin API): whether a host that may own no
// partition at all (one partition, cooperative assignment) has joined, which it logs nothing of.
class GroupDescription {
 public:
  GroupDescription(const std::string& bootstrap, std::string group)
      : group_(std::move(group)), admin_(test::newKafkaClient(RD_KAFKA_PRODUCER, bootstrap)) {
    REQUIRE(admin_ != nullptr);
  }
  ~GroupDescription() { rd_kafka_destroy(admin_); }
  GroupDescription(const GroupDescription&) = delete;
  GroupDescription& operator=(const GroupDescription&) = delete;

  // Whether the group is Stable with exactly `members` members: the rebalance that took every
  // one of them in has completed (a member that joins moves the group out of Stable at once).
  bool stableWith(size_t members) {
    const char* groups[] = {group_.c_str()};
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin_);
    rd_kafka_DescribeConsumerGroups(admin_, groups, 1, nullptr, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 10000);
    bool stable = false;
    if (const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event)) {
      size_t count = 0;
      const rd_kafka_ConsumerGroupDescription_t** descriptions =
          rd_kafka_DescribeConsumerGroups_result_groups(result, &count);
      stable = count == 1 && rd_kafka_ConsumerGroupDescription_error(descriptions[0]) == nullptr &&
               rd_kafka_ConsumerGroupDescription_state(descriptions[0]) ==
                   RD_KAFKA_CONSUMER_GROUP_STATE_STABLE &&
               rd_kafka_ConsumerGroupDescription_member_count(descriptions[0]) == members;
    }
    if (event != nullptr) {
      rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    return stable;
  }

 private:
  std::string group_;
  rd_kafka_t* admin_;
};

// ---- The verdict

// What became of a set of requests, from the reply topic.
struct AnswerTally {
  size_t requests = 0;
  size_t answered = 0;                     // with at least one status tombstone
  size_t lost = 0;                         // never answered
  size_t answered_twice = 0;               // with more than one status tombstone
  std::map<std::string, size_t> statuses;  // zilla:status -> status tombstones

  // Whether every status tombstone carries one of `allowed`.
  bool onlyStatuses(std::initializer_list<const char*> allowed) const {
    return std::all_of(statuses.begin(), statuses.end(), [&](const auto& entry) {
      return std::find(allowed.begin(), allowed.end(), entry.first) != allowed.end();
    });
  }
};

inline AnswerTally tallyAnswers(const ReplyCounter& replies, const std::vector<std::string>& ids) {
  AnswerTally tally;
  tally.requests = ids.size();
  for (const std::string& id : ids) {
    const auto statuses = replies.statuses().find(id);
    if (statuses == replies.statuses().end() || statuses->second.empty()) {
      ++tally.lost;
      continue;
    }
    ++tally.answered;
    tally.answered_twice += statuses->second.size() > 1 ? 1 : 0;
    for (const std::string& status : statuses->second) {
      ++tally.statuses[status];
    }
  }
  return tally;
}

inline std::ostream& operator<<(std::ostream& out, const AnswerTally& tally) {
  out << "requests: " << tally.requests << ", answered: " << tally.answered
      << ", lost (never answered): " << tally.lost
      << ", answered twice (more than one status tombstone): " << tally.answered_twice
      << ", statuses seen (status: tombstones):";
  for (const auto& [status, count] : tally.statuses) {
    out << " " << (status.empty() ? "(none)" : status) << ": " << count << ";";
  }
  return out;
}

// Once every host has stopped: reads what they wrote last (answers written while they drained
// are counted too), then tallies `ids`.
inline AnswerTally finalTally(ReplyCounter& replies, const std::vector<std::string>& ids) {
  CHECK_MESSAGE(replies.readToEnd(60s), "the reply topic could not be read to its end");
  return tallyAnswers(replies, ids);
}

// ---- A chaos test's chain

// What a chaos test sets up, in this order: its topics, the echo service on a port of its own,
// the zilla.yaml its hosts share (kGroupTimeouts; max-in-flight from the load unless given), the
// reader of the answers, the hosts, and for the load tests the load (ZB_CHAOS_REQUESTS unary
// requests, 50-500 ms each).
class ChaosChain {
 public:
  struct Options {
    std::string name;
    std::string bootstrap;
    int partitions = 8;
    int paced_hosts = 1;  // the hosts the load is paced for (maxInFlightFor)
    size_t slots = 1;     // the hosts at most at once
    std::optional<int> max_in_flight = std::nullopt;  // instead of maxInFlightFor
    std::vector<std::pair<std::string, std::string>> more_properties = {};
    std::optional<test::ChainRetry> retry = std::nullopt;
    bool prometheus = false;
    bool record_service = false;  // echo-server --record serviceRecord()
  };

  explicit ChaosChain(const Options& options)
      : name_(options.name + "-" + suffix_),
        dir_(ZB_BINARY_DIR "/tests/chaos/" + name_),
        topics_(createTopics(options.bootstrap, options.name, options.partitions, suffix_)),
        load_(unaryLoad(chaosRequests())),
        max_in_flight_(
            options.max_in_flight.value_or(maxInFlightFor(load_.count, options.paced_hosts))),
        echo_port_(test::freePort()),
        record_service_(options.record_service),
        echo_(startEcho()),
        replies_(options.bootstrap, topics_.responses),
        hosts_(writeConfig(options), topics_.requests, replies_, options.slots) {
    REQUIRE_MESSAGE(echo_->awaitAddress(), echo_->output());
  }

  HostGroup& hosts() { return hosts_; }
  ReplyCounter& replies() { return replies_; }
  const RequestBatch& load() const { return load_; }
  int maxInFlight() const { return max_in_flight_; }
  const ChaosTopics& topics() const { return topics_; }
  // The consumer group of the hosts (kafka-grpc's default group-id).
  std::string group() const { return "zilla:" + name_ + "-kafka_grpc0"; }
  // Where the echo service records each request message (Options::record_service).
  std::string serviceRecord() const { return dir_ + "/service-saw.txt"; }

  // A crash of the service: SIGKILL, then a new one on the same port; returns the seconds it
  // took to listen again.
  double killEcho() {
    const auto killed = std::chrono::steady_clock::now();
    CHECK(echo_->stop(SIGKILL) == 128 + SIGKILL);
    echo_ = startEcho();
    REQUIRE_MESSAGE(echo_->awaitAddress(), echo_->output());
    return secondsSince(killed);
  }

  // Writes the load (once every host that should own partitions does).
  void writeLoad(const std::string& bootstrap) {
    test::produceRequests(bootstrap, topics_.requests, topics_.responses, load_);
    load_written_ = std::chrono::steady_clock::now();
  }

  // Waits (reading, draining the hosts) until `count` requests are answered.
  bool awaitAnswered(size_t count, std::chrono::milliseconds timeout = 180s) {
    return hosts_.readUntil([&] { return replies_.answered() >= count; }, timeout);
  }
  // Waits until every request of the load is answered; the load's time ends then.
  bool awaitAll() {
    const bool all = awaitAnswered(static_cast<size_t>(load_.count), 300s);
    load_seconds_ = secondsSince(load_written_);
    return all;
  }
  // From writeLoad() to the end of awaitAll().
  double loadSeconds() const { return load_seconds_; }
  double testSeconds() const { return secondsSince(began_); }

  // Stops every host still running with SIGTERM; each must exit 0.
  void stopHosts() {
    for (size_t slot = 0; slot < hosts_.slots(); ++slot) {
      if (hosts_.running(slot)) {
        const int status = hosts_.stop(slot, SIGTERM);
        CHECK_MESSAGE(status == 0, "host " << slot << " exited " << status << ":\n"
                                           << hosts_.outputs());
      }
    }
  }

  // The end of a load test: stops the hosts, then tallies the load from the whole reply topic.
  AnswerTally finish() {
    stopHosts();
    return finalTally(replies_, test::requestIds(load_));
  }

 private:
  std::unique_ptr<test::EchoServer> startEcho() {
    std::filesystem::create_directories(dir_);
    return std::make_unique<test::EchoServer>(echo_port_, record_service_ ? serviceRecord() : "");
  }

  std::string writeConfig(const Options& options) {
    auto properties = kGroupTimeouts;
    properties.insert(properties.end(), options.more_properties.begin(),
                      options.more_properties.end());
    return test::writeChainConfig(dir_, {.name = name_,
                                         .bootstrap = options.bootstrap,
                                         .kafka_properties = properties,
                                         .requests = topics_.requests,
                                         .responses = topics_.responses,
                                         .authority = "127.0.0.1:" + std::to_string(echo_port_),
                                         .max_in_flight = max_in_flight_,
                                         .retry = options.retry,
                                         .prometheus = options.prometheus});
  }

  std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
  std::string suffix_ = test::uniqueSuffix();
  std::string name_;  // the config's, so the namespace's and the group's
  std::string dir_;
  ChaosTopics topics_;
  RequestBatch load_;
  int max_in_flight_;
  int echo_port_;
  bool record_service_;
  std::unique_ptr<test::EchoServer> echo_;
  ReplyCounter replies_;
  HostGroup hosts_;
  std::chrono::steady_clock::time_point load_written_ = std::chrono::steady_clock::now();
  double load_seconds_ = 0;
};

}  // namespace zb::chaos
