// A thread that waits for one file descriptor to become readable and calls a handler each time,
// until it is destroyed (an eventfd wakes it to end). The signal and config watchers run on it.
#pragma once

#include <functional>
#include <thread>

namespace zb::host {

class FdWatchThread {
 public:
  // Starts the thread. `on_readable` runs on it; it must read what made `fd` readable.
  // Thread: control.
  FdWatchThread(int fd, std::function<void()> on_readable);
  // Wakes the thread and joins it. Thread: control.
  ~FdWatchThread();
  FdWatchThread(const FdWatchThread&) = delete;
  FdWatchThread& operator=(const FdWatchThread&) = delete;

  bool ok() const { return wake_fd_ >= 0; }

 private:
  void run(int fd);  // Thread: the watcher.

  std::function<void()> on_readable_;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace zb::host
