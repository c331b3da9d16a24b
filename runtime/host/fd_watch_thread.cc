#include "fd_watch_thread.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace zb::host {

FdWatchThread::FdWatchThread(int fd, std::function<void()> on_readable)
    : on_readable_(std::move(on_readable)) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ >= 0 && fd >= 0) {
    thread_ = std::thread([this, fd] { run(fd); });
  }
}

FdWatchThread::~FdWatchThread() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

void FdWatchThread::run(int fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    on_readable_();
  }
}

}  // namespace zb::host
