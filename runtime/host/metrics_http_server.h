// A small HTTP/1.1 server on its own thread that answers GET <path> with the registry's
// Prometheus text. One connection at a time, "Connection: close", bounded reads and timeouts.
#pragma once

#include "metric_registry.h"

#include <atomic>
#include <string>
#include <thread>

namespace zb::host {

class MetricsHttpServer {
 public:
  MetricsHttpServer(const MetricRegistry& registry, std::string path);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Listens on 0.0.0.0:`port` (0: a free port, see port()). Thread: control.
  bool listen(int port, std::string& error);
  int port() const { return port_; }
  const std::string& path() const { return path_; }

  // Starts and stops the serving thread. Thread: control.
  void start();
  void stop();

  // The whole HTTP response to one request's bytes (exposed for tests). Thread: any.
  std::string respond(std::string_view request) const;

 private:
  void serve();             // Thread: the server's own.
  void handle(int client);  // Thread: the server's own.

  const MetricRegistry& registry_;
  std::string path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace zb::host
