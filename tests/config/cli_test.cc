// The built zilla-host, run as a process: `validate` on the broken configs in configs/ (exit code
// and message), usage and plugin-load exit codes, and `start` end to end with the zbtest plugin:
// logs, masked secrets, the Prometheus endpoint, SIGTERM drain and a second signal.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

const std::string kHost = ZB_HOST_EXE;
const std::string kConfigs = ZB_SOURCE_DIR "/tests/config/configs/";
const std::string kPlugins = ZB_TEST_PLUGIN_DIR;

// A child process with its stdout and stderr read through pipes.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env_extra = {}) {
    int out[2];
    int err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("ZILLA_PLUGIN_PATH=", 0) != 0) {
        env.emplace_back(*e);
      }
    }
    env.insert(env.end(), env_extra.begin(), env_extra.end());
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kHost.c_str()));
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, kHost.c_str(), &actions, nullptr, argv.data(), envp.data()) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }

  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads output until stdout holds a line matching `pattern` (returns its match) or the
  // timeout passes ("" then).
  std::string waitForLine(const std::string& pattern, int timeout_ms = 10000) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t scanned = 0;
    while (true) {
      size_t end;
      while ((end = out_.find('\n', scanned)) != std::string::npos) {
        const std::string line = out_.substr(scanned, end - scanned);
        scanned = end + 1;
        std::smatch match;
        if (std::regex_search(line, match, re)) {
          return match.size() > 1 ? match[1].str() : match[0].str();
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0 || !pump(static_cast<int>(left))) {
        return "";
      }
    }
  }

  void signal(int signo) { REQUIRE(kill(pid_, signo) == 0); }

  // Waits for the exit (at most `timeout_ms`), reading all output; the exit code, 128+N for a
  // signal N, or -1 on timeout.
  int wait(int timeout_ms = 20000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0 || !pump(static_cast<int>(left))) {
        break;
      }
    }
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      pollfd none{-1, 0, 0};
      poll(&none, 0, 10);  // waitpid has no timeout; re-check every 10 ms
    }
    return -1;
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads whatever is available within `timeout_ms`; false when both pipes are closed.
  bool pump(int timeout_ms) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    if (poll(fds, 2, timeout_ms) <= 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      std::string& sink = i == 0 ? out_ : err_;
      int& fd = i == 0 ? out_fd_ : err_fd_;
      if (n > 0) {
        sink.append(buffer, static_cast<size_t>(n));
      } else {
        close(fd);
        fd = -1;
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  Child child(args, env);
  const int code = child.wait();
  return {code, child.out(), child.err()};
}

Run validate(const std::string& config) {
  return run({"validate", "-c", kConfigs + config, "--plugins", kPlugins});
}

std::string httpGet(int port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) reply.append(buffer, size_t(n));
  close(fd);
  return reply;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("validate: a valid config prints that it is valid and exits 0") {
  const Run r = validate("valid.yaml");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == kConfigs + "valid.yaml is valid\n");
  CHECK(r.err.empty());
}

TEST_CASE("validate: each broken config exits 1 and says where and what") {
  struct Expectation {
    const char* file;
    std::vector<std::string> lines;  // each must appear in stderr, after the file name
  };
  const std::vector<Expectation> expectations = {
      {"missing-name.yaml", {":1:1: required property \"name\" is missing"}},
      {"unknown-type.yaml",
       {":4:11 /bindings/x/type: no plugin for type \"nosuch\" (looked for libbinding-nosuch.so "
        "in: " +
        kPlugins + ")"}},
      {"bad-enum.yaml",
       {":7:13 /bindings/app0/options/acks: must be one of: none, leader_only, in_sync_replicas"}},
      {"missing-required.yaml",
       {":9:13 /bindings/app0/routes/0/when/0: required property \"topic\" is missing"}},
      {"additional-property.yaml",
       {":8:15 /bindings/app0/options/colour: property \"colour\" is not allowed (allowed: "}},
      {"unknown-names.yaml",
       {":6:12 /bindings/app0/entry: entry \"kafka9\" is not a declared binding",
        ":7:11 /bindings/app0/exit: exit \"nowhere\" is not a declared binding",
        ":9:15 /bindings/app0/routes/0/exit: exit \"grpc9\" is not a declared binding"}},
      {"bad-yaml.yaml", {":7:7: YAML syntax error: end of sequence flow not found"}},
      {"unset-env.yaml",
       {":8:17 /bindings/app0/options/password: environment variable ZB_TEST_UNSET_VARIABLE is "
        "not set"}},
      {"many-problems.yaml",
       {":1:1: required property \"name\" is missing",
        ":5:11 /bindings/a/kind: must be one of: server, client",
        ":8:13 /bindings/a/options/port: must be at most 65535",
        ":9:14 /bindings/a/options/extra: property \"extra\" is not allowed",
        ":16:21 /telemetry/exporters/p/options/endpoints/0/scheme: must be one of: http"}},
  };
  for (const Expectation& expectation : expectations) {
    const Run r = validate(expectation.file);
    INFO(std::string(expectation.file) << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    for (const std::string& line : expectation.lines) {
      CHECK(contains(r.err, kConfigs + expectation.file + line));
    }
    // One line per problem, nothing else.
    const auto lines = static_cast<size_t>(std::count(r.err.begin(), r.err.end(), '\n'));
    CHECK(lines == expectation.lines.size());
  }
}

TEST_CASE("validate: a missing file, a usage error, a plugin that cannot load") {
  Run r = run({"validate", "-c", kConfigs + "does-not-exist.yaml"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "does-not-exist.yaml: cannot read: No such file or directory"));

  r = run({"validate", "--no-such-option"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "zilla-host: unknown option --no-such-option"));
  CHECK(contains(r.err, "Usage: zilla-host"));
  CHECK(run({}).code == 2);

  r = run({"--version"});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("zilla-host ", 0) == 0);
  CHECK(contains(r.out, "(binding ABI 1.0)"));
  CHECK(run({"--help"}).code == 0);

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("zb-cli-broken-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libbinding-zbtest.so") << "not an ELF file";
  r = run({"validate", "-c", kConfigs + "valid.yaml"}, {"ZILLA_PLUGIN_PATH=" + dir.string()});
  std::filesystem::remove_all(dir);
  INFO(r.err);
  CHECK(r.code == 3);
  CHECK(contains(r.err, "/bindings/app0/type: plugin for type \"zbtest\" cannot be loaded: "));
}

TEST_CASE("start: logs JSON lines, masks secrets, serves metrics, stops cleanly on SIGTERM") {
  Child child({"start", "-c", kConfigs + "start.yaml", "--plugins", kPlugins},
              {"ZB_TEST_DB_PASSWORD=hunter2-very-secret"});
  const std::string port = child.waitForLine(R"(serving http://0\.0\.0\.0:([0-9]+)/metrics)");
  REQUIRE_MESSAGE(!port.empty(), child.out() << child.err());
  REQUIRE_FALSE(child.waitForLine(R"(started 2 bindings)").empty());

  const std::string metrics = httpGet(std::stoi(port), "/metrics");
  INFO(metrics);
  CHECK(contains(metrics, "HTTP/1.1 200 OK"));
  CHECK(contains(metrics,
                 "zbtest_started_total{namespace=\"cli\",binding=\"app0\",tenant=\"a\"} 1\n"));
  CHECK(contains(metrics, "zbtest_level{namespace=\"cli\",binding=\"app1\"} 3\n"));
  CHECK(contains(metrics, "zbtest_sizes_bucket{namespace=\"cli\",binding=\"app0\",le=\"4\"} 1\n"));

  child.signal(SIGTERM);
  CHECK(child.wait() == 0);
  INFO(child.out());
  CHECK(contains(child.out(), R"("level":"info","binding":"app0","msg":"zbtest started"})"));
  CHECK(contains(child.out(), "connecting with password ***"));
  CHECK_FALSE(contains(child.out(), "hunter2"));
  CHECK(contains(child.out(), "SIGTERM: stopping"));
  CHECK(contains(child.out(), R"("binding":"app1","msg":"zbtest stopping"})"));
  CHECK(contains(child.out(), R"("msg":"stopped"})"));
  // Every stdout line is one JSON object.
  size_t start = 0;
  for (size_t end; (end = child.out().find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = child.out().substr(start, end - start);
    CHECK(line.rfind("{\"ts\":\"", 0) == 0);
    CHECK(line.back() == '}');
  }
}

TEST_CASE("start: the drain waits for open streams at most --drain-timeout") {
  Child child({"start", "-c", kConfigs + "hold.yaml", "--plugins", kPlugins, "--drain-timeout",
               "300ms", "--log-format", "text"});
  REQUIRE_FALSE(child.waitForLine("started 1 bindings").empty());
  const auto stop_at = std::chrono::steady_clock::now();
  child.signal(SIGINT);
  CHECK(child.wait() == 0);
  const auto took = std::chrono::steady_clock::now() - stop_at;
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(contains(child.out(), "INFO  zilla-host: SIGINT: stopping"));
  CHECK(contains(child.out(), "streams still open when the engine stopped"));
}

TEST_CASE("start: a second signal exits at once without draining") {
  Child child(
      {"start", "-c", kConfigs + "hold.yaml", "--plugins", kPlugins, "--drain-timeout", "60s"});
  REQUIRE_FALSE(child.waitForLine("started 1 bindings").empty());
  const auto first = std::chrono::steady_clock::now();
  child.signal(SIGTERM);
  REQUIRE_FALSE(child.waitForLine("SIGTERM: stopping").empty());
  // A repeat within 250 ms counts as the same stop (supervisors may deliver one stop twice);
  // the behaviour under test is that window, so this waits it out rather than synchronizing.
  std::this_thread::sleep_until(first + std::chrono::milliseconds(300));
  child.signal(SIGTERM);
  CHECK(child.wait(10000) == 128 + SIGTERM);
  CHECK(contains(child.out(), "SIGTERM again: exiting now without draining"));
}

TEST_CASE("start: a signal delivered twice at once (process and group) is one stop request") {
  Child child({"start", "-c", kConfigs + "hold.yaml", "--plugins", kPlugins, "--drain-timeout",
               "300ms", "-v"});
  REQUIRE_FALSE(child.waitForLine("started 1 bindings").empty());
  child.signal(SIGTERM);
  child.signal(SIGTERM);
  CHECK(child.wait() == 0);
  CHECK_FALSE(contains(child.out(), "exiting now"));
}

TEST_CASE("start: invalid config exits 1, a binding refusing its config exits 4") {
  Child invalid({"start", "-c", kConfigs + "bad-enum.yaml", "--plugins", kPlugins});
  CHECK(invalid.wait() == 1);
  CHECK(contains(invalid.err(), "/bindings/app0/options/acks: must be one of"));

  Child refused({"start", "-c", kConfigs + "refuse.yaml", "--plugins", kPlugins});
  CHECK(refused.wait() == 4);
  INFO(refused.out());
  CHECK(
      contains(refused.out(), "cannot create the bindings: app0: refused: options.refuse is true"));
}

TEST_CASE("start: a taken metrics port exits 4 before any binding starts") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(fd, 1) == 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  Child child({"start", "-c", kConfigs + "port-from-env.yaml", "--plugins", kPlugins},
              {"ZB_TEST_METRICS_PORT=" + port});
  CHECK(child.wait() == 4);
  close(fd);
  INFO(child.out());
  CHECK(contains(child.out(), "prometheus exporter p: cannot listen on port " + port));
  CHECK_FALSE(contains(child.out(), "zbtest started"));
}
