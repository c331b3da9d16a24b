#include "stop_signals.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

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
  if (signal_fd_ >= 0) {
    watcher_ = std::make_unique<FdWatchThread>(signal_fd_, [this] { readSignal(); });
  }
}

StopSignals::~StopSignals() {
  watcher_.reset();
  if (signal_fd_ >= 0) close(signal_fd_);
}

void StopSignals::readSignal() {
  signalfd_siginfo info;
  if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    const int signo = static_cast<int>(info.ssi_signo);
    on_signal_(signo, signo == SIGHUP ? 0 : ++count_);
  }
}

}  // namespace zb::host
