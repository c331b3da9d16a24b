// zilla-host's Prometheus endpoint read the way a scraper reads it: GET /metrics over a plain
// socket on loopback, then the values of the series a test asserts on.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace zb::test {

// The body of GET /metrics from zilla-host's Prometheus endpoint on loopback ("" on failure).
inline std::string scrapeMetrics(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {  // it closes after the answer
        response.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Every series line of `family` (`family{labels} value`), in the order served.
inline std::vector<std::string> metricSeries(const std::string& metrics,
                                             const std::string& family) {
  std::vector<std::string> series;
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(family + "{")) {
      series.push_back(line);
    }
  }
  return series;
}

// The value of the first series of `family` whose labels contain `label` (e.g. `status="0"`);
// 0 when there is none (a counter not yet incremented is not exported).
inline double metricValue(const std::string& metrics, const std::string& family,
                          const std::string& label = "") {
  for (const std::string& line : metricSeries(metrics, family)) {
    if (line.find(label) != std::string::npos) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return 0;
}

// The sum of every series of `family` whose labels contain `label` (a family split by labels,
// e.g. one series per reason).
inline double metricTotal(const std::string& metrics, const std::string& family,
                          const std::string& label = "") {
  double total = 0;
  for (const std::string& line : metricSeries(metrics, family)) {
    if (line.find(label) != std::string::npos) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

}  // namespace zb::test
