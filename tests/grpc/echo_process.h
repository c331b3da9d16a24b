// The example echo service as a child process: started on port 0 (or a given port), its port
// read from the "listening on HOST:PORT" line it prints, stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace zb::grpc_test {

class EchoProcess {
 public:
  // Starts echo-server with these extra arguments and waits (up to 10 s) for its port.
  explicit EchoProcess(std::vector<std::string> arguments = {}, int port = 0);
  ~EchoProcess();
  EchoProcess(const EchoProcess&) = delete;
  EchoProcess& operator=(const EchoProcess&) = delete;

  int port() const { return port_; }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  // Stops it (SIGTERM, then waits). Idempotent.
  void stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int unusedPort();

// A socket listening on 127.0.0.1 that never accepts: connections complete at the TCP level
// and then hear nothing, as with a hung server.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace zb::grpc_test
