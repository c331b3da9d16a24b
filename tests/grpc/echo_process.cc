#include "echo_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace zb::grpc_test {
namespace {

// Reads `fd` until a full "listening on HOST:PORT" line arrives; 0 on timeout or EOF.
int readPort(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string output;
  while (true) {
    const size_t newline = output.find('\n');
    if (newline != std::string::npos) {
      const std::string line = output.substr(0, newline);
      const size_t colon = line.rfind(':');
      if (line.rfind("listening on ", 0) == 0 && colon != std::string::npos) {
        return std::atoi(line.c_str() + colon + 1);
      }
      output.erase(0, newline + 1);
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return 0;
    }
    pollfd waiting{fd, POLLIN, 0};
    if (poll(&waiting, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      return 0;
    }
    output.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

EchoProcess::EchoProcess(std::vector<std::string> arguments, int port) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  std::vector<std::string> argv{ECHO_SERVER, "--port", std::to_string(port)};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::vector<char*> args;
  for (std::string& arg : argv) {
    args.push_back(arg.data());
  }
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec. The server dies with the test process, even
    // when a timeout kills the test.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], STDOUT_FILENO);
    execv(ECHO_SERVER, args.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid_ < 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " ECHO_SERVER);
  }
  port_ = readPort(fds[0], std::chrono::seconds(10));
  close(fds[0]);  // it prints nothing else on stdout
  if (port_ == 0) {
    stop();
    throw std::runtime_error("echo-server did not report its port");
  }
}

EchoProcess::~EchoProcess() { stop(); }

void EchoProcess::stop() {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int unusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

SilentListener::SilentListener() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  listen(fd_, 16);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener() { close(fd_); }

}  // namespace zb::grpc_test
