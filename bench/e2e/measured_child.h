// A child process whose resource use is measured: started with posix_spawn, its stdout and stderr
// read through a pipe by a thread (so a line can be awaited without sleeping and a chatty child
// never blocks), reaped with wait4 for its rusage (CPU seconds, max RSS).
//
// Thread: the owner's thread, except the output reader, which is internal.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace zb::bench {

struct ChildUsage {
  double cpu_seconds = 0;  // user + system
  double user_seconds = 0;
  double system_seconds = 0;
  long max_rss_kb = 0;
  // Voluntary + involuntary, all threads: each is a thread that slept and was woken (or was
  // preempted); on two shared cores they cost more CPU than most of the work around them.
  long context_switches = 0;
  int exit_status = -1;  // exit code, or 128 + signal
};

class MeasuredChild {
 public:
  // Starts argv[0] (searched in PATH) with the current environment plus `env` ("NAME=value").
  explicit MeasuredChild(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {});
  ~MeasuredChild();
  MeasuredChild(const MeasuredChild&) = delete;
  MeasuredChild& operator=(const MeasuredChild&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // False once it exited (reaped or not).
  bool running();

  // Waits until a line of its output matches `pattern` (ECMAScript regex); returns the first
  // capture group, or the whole match. nullopt on timeout or end of output.
  std::optional<std::string> awaitLine(const std::string& pattern,
                                       std::chrono::milliseconds timeout);

  // CPU seconds (user + system) used so far, from /proc/<pid>/stat; -1 once gone.
  double cpuSecondsNow() const;
  // Resident set size now, from /proc/<pid>/statm; -1 once gone.
  long rssKbNow() const;

  // Sends `signal` (0: none) and waits for the exit, up to `timeout`, then SIGKILL.
  ChildUsage stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string output() const;

 private:
  void readOutput(int fd);
  bool reap(int options);

  pid_t pid_ = -1;
  bool reaped_ = false;
  ChildUsage usage_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable grew_;
  std::string output_;
  bool eof_ = false;
};

// Runs a command to completion; returns its exit status, with its output in `output`.
int runCommand(const std::vector<std::string>& argv, std::string& output,
               std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace zb::bench
