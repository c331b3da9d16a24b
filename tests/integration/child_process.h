// A child process for integration tests: started with posix_spawn, its stdout and stderr read
// through a pipe, so a test waits for a line it prints (poll with a deadline), never sleeps.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

extern char** environ;

namespace zb::test {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `env` ("NAME=value").
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      environment.emplace_back(*e);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (const std::string& entry : environment) {
      envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
  }

  ~ChildProcess() {
    stop(SIGKILL);
    if (out_ >= 0) {
      close(out_);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0 && !exited_; }
  pid_t pid() const { return pid_; }

  // Whether the process is still there, asked of the kernel (a crash shows here before any
  // wait); reaps it and keeps its status if it has exited.
  bool alive() {
    if (pid_ <= 0 || exited_) {
      return false;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) {
      return true;
    }
    exited_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }

  // Reads what the process has written so far without waiting: a test that waits on something
  // else for long calls it, so a chatty child never blocks on a full pipe.
  void drain() {
    while (readSome(0)) {
    }
  }

  // Reads output until `pattern` matches a line or `timeout` passes; returns the first capture
  // group (or the whole match) of the matching line.
  std::optional<std::string> awaitLine(const std::string& pattern,
                                       std::chrono::milliseconds timeout) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t scanned = 0;
    while (true) {
      size_t newline;
      while ((newline = output_.find('\n', scanned)) != std::string::npos) {
        const std::string line = output_.substr(scanned, newline - scanned);
        scanned = newline + 1;
        std::smatch match;
        if (std::regex_search(line, match, re)) {
          return match.size() > 1 ? match[1].str() : match[0].str();
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !readSome(static_cast<int>(left.count()))) {
        return std::nullopt;
      }
    }
  }

  // Sends `signal` and waits for the exit; returns the exit status (128 + signal if killed).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0 || exited_) {
      return status_;
    }
    kill(pid_, signal);
    return wait();
  }

  // Waits for the process to exit, draining its output.
  int wait() {
    if (pid_ <= 0 || exited_) {
      return status_;
    }
    while (readSome(1000)) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }

  const std::string& output() const { return output_; }

  // What a sanitizer reported in the output ("" if nothing). Under ZB_SANITIZE a leak report
  // does not change the exit code (see CMakeLists.txt), so a test shows it with this.
  std::string sanitizerReport() const {
    const size_t at = output_.find("Sanitizer");
    if (at == std::string::npos) {
      return "";
    }
    const size_t line = output_.rfind('\n', at);
    return output_.substr(line == std::string::npos ? 0 : line + 1);
  }

 private:
  // Returns false on end of file or timeout.
  bool readSome(int timeout_ms) {
    if (out_ < 0) {
      return false;
    }
    pollfd fd{out_, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) <= 0) {
      return false;
    }
    char buffer[4096];
    const ssize_t n = read(out_, buffer, sizeof buffer);
    if (n <= 0) {
      return false;
    }
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string output_;
};

// Runs a command to completion; returns its exit status and output.
inline std::pair<int, std::string> runCommand(const std::vector<std::string>& argv,
                                              const std::vector<std::string>& env = {}) {
  ChildProcess child(argv, env);
  const int status = child.wait();
  return {status, child.output()};
}

}  // namespace zb::test
