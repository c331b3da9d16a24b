// SIGINT, SIGTERM and SIGHUP without async-signal-safety traps: the signals are blocked in every
// thread and read from a signalfd by one watcher thread, which runs an ordinary callback.
#pragma once

#include "fd_watch_thread.h"

#include <functional>
#include <memory>
#include <string>

namespace zb::host {

class StopSignals {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread; threads started afterwards inherit
  // the mask.
  // Call first thing in main, before any thread exists. Thread: control.
  static bool block(std::string& error);

  // Starts the watcher. `on_signal(signo, count)` runs on the watcher thread for each signal,
  // count being 1 for the first stop signal (SIGINT or SIGTERM), 2 for the second...; 0 for
  // SIGHUP, which never counts as a stop. Thread: control.
  explicit StopSignals(std::function<void(int signo, int count)> on_signal);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool ok() const { return signal_fd_ >= 0 && watcher_ && watcher_->ok(); }

 private:
  void readSignal();  // Thread: the watcher.

  std::function<void(int, int)> on_signal_;
  int signal_fd_ = -1;
  int count_ = 0;  // stop signals so far (the watcher's)
  std::unique_ptr<FdWatchThread> watcher_;
};

}  // namespace zb::host
