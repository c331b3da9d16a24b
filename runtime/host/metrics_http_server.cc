#include "metrics_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zb::host {

namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr int kIoTimeoutMs = 2000;

std::string response(const char* status, const std::string& body, bool head,
                     const char* extra_headers = "") {
  std::string out = std::string("HTTP/1.1 ") + status + "\r\n";
  out += "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "Connection: close\r\n\r\n";
  if (!head) {
    out += body;
  }
  return out;
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(const MetricRegistry& registry, std::string path)
    : registry_(registry), path_(std::move(path)) {}

MetricsHttpServer::~MetricsHttpServer() {
  stop();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

bool MetricsHttpServer::listen(int port, std::string& error) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int yes = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    error = "cannot listen on port " + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  socklen_t length = sizeof address;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void MetricsHttpServer::start() {
  if (listen_fd_ >= 0 && !thread_.joinable()) {
    thread_ = std::thread([this] { serve(); });
  }
}

void MetricsHttpServer::stop() {
  if (!thread_.joinable()) {
    return;
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void MetricsHttpServer::serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client >= 0) {
        handle(client);
        close(client);
      }
    }
  }
}

void MetricsHttpServer::handle(int client) {
  std::string request;
  char buffer[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    pollfd fd{client, POLLIN, 0};
    if (poll(&fd, 1, kIoTimeoutMs) <= 0) {
      return;
    }
    const ssize_t n = recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      break;
    }
    request.append(buffer, static_cast<size_t>(n));
  }
  const std::string reply = respond(request);
  size_t sent = 0;
  while (sent < reply.size()) {
    const ssize_t n = send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        pollfd fd{client, POLLOUT, 0};
        if (poll(&fd, 1, kIoTimeoutMs) <= 0) {
          return;
        }
        continue;
      }
      return;
    }
    sent += static_cast<size_t>(n);
  }
}

std::string MetricsHttpServer::respond(std::string_view request) const {
  const size_t line_end = request.find("\r\n");
  if (line_end == std::string_view::npos) {
    return response("400 Bad Request", "bad request\n", false);
  }
  const std::string_view line = request.substr(0, line_end);
  const size_t first_space = line.find(' ');
  const size_t second_space = line.find(' ', first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos ||
      line.substr(second_space + 1).rfind("HTTP/1.", 0) != 0) {
    return response("400 Bad Request", "bad request\n", false);
  }
  const std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  target = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") {
    return response("405 Method Not Allowed", "method not allowed\n", false,
                    "Allow: GET, HEAD\r\n");
  }
  if (target != path_) {
    return response("404 Not Found", "not found\n", method == "HEAD");
  }
  return response("200 OK", registry_.renderPrometheus(), method == "HEAD");
}

}  // namespace zb::host
