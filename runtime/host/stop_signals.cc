#include "stop_signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zb::host {

namespace {

sigset_t stopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

bool StopSignals::block(std::string& error) {
  const sigset_t set = stopSet();
  const int result = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (result != 0) {
    error = std::string("pthread_sigmask: ") + std::strerror(result);
    return false;
  }
  return true;
}

StopSignals::StopSignals(std::function<void(int, int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  const sigset_t set = stopSet();
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (ok()) {
    thread_ = std::thread([this] { watch(); });
  }
}

StopSignals::~StopSignals() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (signal_fd_ >= 0) close(signal_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void StopSignals::watch() {
  int count = 0;
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    signalfd_siginfo info;
    if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      const int signo = static_cast<int>(info.ssi_signo);
      on_signal_(signo, signo == SIGHUP ? 0 : ++count);
    }
  }
}

}  // namespace zb::host
