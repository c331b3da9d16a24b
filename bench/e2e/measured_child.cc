#include "measured_child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

extern char** environ;

namespace zb::bench {

MeasuredChild::MeasuredChild(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
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
  reader_ = std::thread(&MeasuredChild::readOutput, this, fds[0]);
}

MeasuredChild::~MeasuredChild() {
  stop(SIGKILL, std::chrono::seconds(5));
  if (reader_.joinable()) {
    reader_.join();
  }
}

void MeasuredChild::readOutput(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    output_.append(buffer, static_cast<size_t>(n));
    grew_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  eof_ = true;
  grew_.notify_all();
}

std::optional<std::string> MeasuredChild::awaitLine(const std::string& pattern,
                                                    std::chrono::milliseconds timeout) {
  const std::regex re(pattern);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t scanned = 0;
  std::unique_lock<std::mutex> lock(mutex_);
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
    if (eof_ || grew_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return std::nullopt;
    }
  }
}

std::string MeasuredChild::output() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

bool MeasuredChild::reap(int options) {
  if (pid_ <= 0 || reaped_) {
    return reaped_;
  }
  int status = 0;
  rusage usage{};
  const pid_t done = wait4(pid_, &status, options, &usage);
  if (done != pid_) {
    return false;
  }
  reaped_ = true;
  usage_.user_seconds = static_cast<double>(usage.ru_utime.tv_sec) + usage.ru_utime.tv_usec / 1e6;
  usage_.system_seconds = static_cast<double>(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec / 1e6;
  usage_.cpu_seconds = usage_.user_seconds + usage_.system_seconds;
  usage_.max_rss_kb = usage.ru_maxrss;
  usage_.context_switches = usage.ru_nvcsw + usage.ru_nivcsw;
  usage_.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool MeasuredChild::running() { return pid_ > 0 && !reap(WNOHANG); }

double MeasuredChild::cpuSecondsNow() const {
  if (pid_ <= 0 || reaped_) {
    return -1;
  }
  std::ifstream file("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) {
    return -1;
  }
  // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) {
      utime = std::stoull(field);
    } else if (index == 15) {
      stime = std::stoull(field);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long MeasuredChild::rssKbNow() const {
  if (pid_ <= 0 || reaped_) {
    return -1;
  }
  std::ifstream file("/proc/" + std::to_string(pid_) + "/statm");
  unsigned long long size = 0;
  unsigned long long resident = 0;
  if (!(file >> size >> resident)) {
    return -1;
  }
  return static_cast<long>(resident * static_cast<unsigned long long>(sysconf(_SC_PAGESIZE)) /
                           1024);
}

ChildUsage MeasuredChild::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || reaped_) {
    return usage_;
  }
  if (signal != 0) {
    kill(pid_, signal);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(WNOHANG)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      reap(0);
      break;
    }
    // Exit is not an event we can wait on with a deadline here; the output pipe closing is.
    std::unique_lock<std::mutex> lock(mutex_);
    grew_.wait_for(lock, std::chrono::milliseconds(20));
  }
  return usage_;
}

int runCommand(const std::vector<std::string>& argv, std::string& output,
               std::chrono::milliseconds timeout) {
  MeasuredChild child(argv);
  if (!child.started()) {
    output = "cannot start " + argv[0];
    return -1;
  }
  const ChildUsage usage = child.stop(0, timeout);
  output = child.output();
  return usage.exit_status;
}

}  // namespace zb::bench
