// Connecting: no request byte is taken before the channel is READY; a service that cannot be
// reached is a RESET with status 14 (retry), within the connect timeout and without spinning;
// TLS and mutual TLS with certificates made at test time.
#include "call_harness.h"
#include "echo_process.h"
#include "tls_files.h"

#include <sys/resource.h>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace zb::grpc_test;

CallSpec unaryTo(const std::string& authority) {
  CallSpec spec;
  spec.authority = authority;
  return spec;
}

// CPU seconds this process (every thread) has used so far.
double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Runs one unary call and waits until its stream is released.
CallRecord unary(Harness& harness, const CallSpec& spec, const std::string& message,
                 int64_t timeout_ms = 10'000) {
  CallRecord record;
  CallerStream* call = harness.call(spec, record);
  call->send(echoRequest(message));
  call->finish();
  REQUIRE(harness.runUntil([&] { return record.released; }, timeout_ms));
  return record;
}

std::string tlsOptions(const TlsFiles& tls, bool client_cert, const std::string& ca = "") {
  std::string options = R"({"connect-timeout": "3s", "tls": {"ca": ")" +
                        (ca.empty() ? tls.ca : ca) + R"(", "server-name": "localhost")";
  if (client_cert) {
    options += R"(, "cert": ")" + tls.client_cert + R"(", "key": ")" + tls.client_key + R"(")";
  }
  return options + "}}";
}

}  // namespace

TEST_CASE("nothing listening: RESET status 14 before any request byte, reply closed") {
  Harness harness(R"({"connect-timeout": "5s"})");
  const std::string authority = "127.0.0.1:" + std::to_string(unusedPort());
  const auto started = std::chrono::steady_clock::now();
  const CallRecord record = unary(harness, unaryTo(authority), "anyone?");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
  CHECK(record.reset);
  CHECK(record.status == 14);
  CHECK(record.message.find(authority) != std::string::npos);
  CHECK(record.windows == 0);  // no credit was ever granted: nothing was taken
  CHECK_FALSE(record.reply_begun);
  CHECK(record.aborted);

  // gRPC keeps the channel in TRANSIENT_FAILURE now: later calls are refused at once, each
  // one resetting gRPC's reconnect backoff so the caller's retries pace the attempts.
  for (int i = 0; i < 3; ++i) {
    const auto again = std::chrono::steady_clock::now();
    const CallRecord retry = unary(harness, unaryTo(authority), "retry");
    CHECK(std::chrono::steady_clock::now() - again < std::chrono::milliseconds(500));
    CHECK(retry.reset);
    CHECK(retry.status == 14);
    CHECK(retry.windows == 0);
  }
}

TEST_CASE("a server that never answers: RESET 14 at the connect timeout, without spinning") {
  SilentListener silent;
  Harness harness(R"({"connect-timeout": "800ms"})");
  const double cpu_before = cpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  const CallRecord record =
      unary(harness, unaryTo("127.0.0.1:" + std::to_string(silent.port())), "hello?");
  const auto waited = std::chrono::steady_clock::now() - started;
  const double cpu = cpuSeconds() - cpu_before;
  CHECK(waited >= std::chrono::milliseconds(750));
  CHECK(waited < std::chrono::milliseconds(3000));
  CHECK(record.reset);
  CHECK(record.status == 14);
  CHECK(record.message.find("800 ms") != std::string::npos);
  CHECK(record.windows == 0);
  MESSAGE("CPU while waiting " << cpu << " s over " << std::chrono::duration<double>(waited).count()
                               << " s");
  CHECK(cpu < 0.25);  // a busy loop would burn the whole wait
}

TEST_CASE("the service comes up on the port after a refusal: the next call gets through") {
  const int port = unusedPort();
  Harness harness(R"({"connect-timeout": "3s"})");
  const CallSpec spec = unaryTo("127.0.0.1:" + std::to_string(port));
  const CallRecord refused = unary(harness, spec, "early");
  CHECK(refused.reset);
  CHECK(refused.status == 14);

  EchoProcess server({}, port);
  // The caller retries every 20 ms, as kafka-grpc would with its own backoff. gRPC alone would
  // wait out its reconnect backoff (1 s +-20% after the first failure); the binding resets that
  // backoff on each refused call, so the service is reached within a few retries.
  const auto started = std::chrono::steady_clock::now();
  CallRecord served;
  int attempts = 0;
  while (!served.ended && std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    if (attempts++ > 0) {
      harness.runUntil([] { return false; }, 20);  // the caller's retry backoff
    }
    served = unary(harness, spec, "now");
    CHECK((served.ended || (served.reset && served.status == 14)));
  }
  const auto took = std::chrono::steady_clock::now() - started;
  MESSAGE("served after " << attempts << " attempts, "
                          << std::chrono::duration<double>(took).count() << " s");
  CHECK(took < std::chrono::milliseconds(600));
  REQUIRE(served.ended);
  REQUIRE(served.messages.size() == 1);
  CHECK(echoResponse(served.messages[0]) == "now");

  // And when it goes away again, calls are refused with 14 once more.
  server.stop();
  const CallRecord gone = unary(harness, spec, "later");
  CHECK(gone.status == 14);
  CHECK((gone.reset || gone.aborted));
}

TEST_CASE("TLS: the server's certificate verified against the configured CA") {
  const TlsFiles& tls = tlsFiles();
  REQUIRE_MESSAGE(tls.error.empty(), tls.error);
  EchoProcess server({"--tls-cert", tls.server_cert, "--tls-key", tls.server_key});

  SUBCASE("trusted") {
    Harness harness(tlsOptions(tls, false));
    REQUIRE_MESSAGE(harness.created(), harness.error());
    const CallRecord record = unary(harness, unaryTo(server.authority()), "secret");
    CHECK(record.ended);
    REQUIRE(record.messages.size() == 1);
    CHECK(echoResponse(record.messages[0]) == "secret");
  }
  SUBCASE("https scheme with the CA, no server-name override: the IP SAN matches") {
    Harness harness(R"({"tls": {"ca": ")" + tls.ca + R"("}})");
    CallSpec spec = unaryTo(server.authority());
    spec.scheme = "https";
    const CallRecord record = unary(harness, spec, "by ip");
    CHECK(record.ended);
  }
  SUBCASE("signed by another CA: refused as unavailable") {
    Harness harness(tlsOptions(tls, false, tls.other_ca));
    const CallRecord record = unary(harness, unaryTo(server.authority()), "secret");
    CHECK(record.reset);
    CHECK(record.status == 14);
  }
  SUBCASE("plain text to a TLS server fails") {
    Harness harness(R"({"connect-timeout": "2s"})");
    const CallRecord record = unary(harness, unaryTo(server.authority()), "clear");
    CHECK_FALSE(record.ended);
    CHECK(record.status == 14);
  }
}

TEST_CASE("mutual TLS: the client certificate is presented and required") {
  const TlsFiles& tls = tlsFiles();
  REQUIRE_MESSAGE(tls.error.empty(), tls.error);
  EchoProcess server(
      {"--tls-cert", tls.server_cert, "--tls-key", tls.server_key, "--tls-ca", tls.ca});

  SUBCASE("with the client certificate") {
    Harness harness(tlsOptions(tls, true));
    const CallRecord record = unary(harness, unaryTo(server.authority()), "mutual");
    CHECK(record.ended);
    REQUIRE(record.messages.size() == 1);
    CHECK(echoResponse(record.messages[0]) == "mutual");
  }
  SUBCASE("without one") {
    Harness harness(tlsOptions(tls, false));
    const CallRecord record = unary(harness, unaryTo(server.authority()), "anonymous");
    CHECK_FALSE(record.ended);
    CHECK(record.status == 14);
  }
}
