// echo-server: the example gRPC echo service (examples/echo/echo.proto) on gRPC's callback API.
//
//   echo-server [--host H] [--port N] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]
//               [--record FILE]
//
// --port 0 (the default) picks a free port. Once listening it prints "listening on H:PORT" on
// stdout and flushes, so a test or script can read the port. With --tls-cert and --tls-key it
// serves TLS; adding --tls-ca requires and verifies client certificates (mTLS). With --record
// it appends one line per request message it receives to FILE, flushed at once:
// `<method> <request metadata "call-id", or -> <message>` (a newline or backslash in the message
// is written as \n or \\), so a test can count what the service saw. SIGINT or SIGTERM stops it.
//
// Behaviour:
//   UnaryEcho                   replies with the request's message.
//   ServerStreamingEcho         replies "<message> 1" .. "<message> 10".
//   ClientStreamingEcho         replies once, with every request message joined by ",".
//   BidirectionalStreamingEcho  replies to each request message with the same message.
// Request metadata that tests use:
//   echo-status: <code>   the call fails with that status code and "echo-status requested".
//   echo-delay-ms: <n>    waits n ms before each response message (and before a failing status);
//                         a call cancelled meanwhile (deadline, client gone) stops waiting.
//   Every entry whose name starts with "echo-" or ends with "-bin" comes back as response
//   initial metadata.
#include "echo.grpc.pb.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace echo {

using grpc::examples::echo::Echo;
using grpc::examples::echo::EchoRequest;
using grpc::examples::echo::EchoResponse;

constexpr int kServerStreamingCount = 10;

// What the request metadata asks of a call.
struct CallHooks {
  grpc::Status status = grpc::Status::OK;
  int delay_ms = 0;
  std::string call_id = "-";  // metadata call-id, for --record
};

// --record: every request message, one line each, in the order they arrive (any gRPC thread).
class MessageRecord {
 public:
  bool open(const std::string& path) {
    file_ = std::fopen(path.c_str(), "a");
    return file_ != nullptr;
  }

  void add(const char* method, const CallHooks& hooks, const EchoRequest& request) {
    if (file_ == nullptr) {
      return;
    }
    std::string line = std::string(method) + " " + hooks.call_id + " ";
    for (const char c : request.message()) {
      if (c == '\n') {
        line += "\\n";
      } else if (c == '\\') {
        line += "\\\\";
      } else {
        line += c;
      }
    }
    line += '\n';
    std::lock_guard<std::mutex> lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);  // a test reads the file while the server runs
  }

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

MessageRecord message_record;

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Reads the test hooks and echoes the echo-* and *-bin entries into the response headers.
CallHooks applyHooks(grpc::CallbackServerContext* ctx) {
  CallHooks hooks;
  for (const auto& [key, value] : ctx->client_metadata()) {
    const std::string_view name(key.data(), key.size());
    const std::string text(value.data(), value.size());
    if (name == "echo-status") {
      const int code = std::atoi(text.c_str());
      if (code > 0 && code <= 16) {
        hooks.status = grpc::Status(static_cast<grpc::StatusCode>(code), "echo-status requested");
      }
    } else if (name == "echo-delay-ms") {
      hooks.delay_ms = std::max(0, std::atoi(text.c_str()));
    } else if (name == "call-id") {
      hooks.call_id = text;
    }
    if (name.starts_with("echo-") || endsWith(name, "-bin")) {
      ctx->AddInitialMetadata(std::string(name), text);
    }
  }
  return hooks;
}

// A wait before a reply that ends early when the call is cancelled (deadline, client gone,
// server shutdown), so a cancelled call never lingers for its whole delay. `then` runs on a
// gRPC thread, exactly once per start().
class Delay {
 public:
  void start(int delay_ms, std::function<void()> then) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (delay_ms <= 0 || cancelled_) {
      lock.unlock();
      then();
      return;
    }
    // Replacing the previous alarm destroys it, possibly from inside its own callback: safe,
    // gRPC holds a reference to an alarm while its callback runs. The callback itself runs on
    // a gRPC executor thread, never inside Set() or Cancel(), so holding the lock is fine.
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms),
                [then = std::move(then)](bool) { then(); });
  }

  // Thread: any gRPC thread (from OnCancel).
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (alarm_) {
      alarm_->Cancel();  // runs the pending callback now, with ok = false
    }
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<grpc::Alarm> alarm_;
  bool cancelled_ = false;
};

class UnaryReply : public grpc::ServerUnaryReactor {
 public:
  UnaryReply(grpc::CallbackServerContext* ctx, const EchoRequest* request, EchoResponse* response)
      : hooks_(applyHooks(ctx)) {
    message_record.add("UnaryEcho", hooks_, *request);
    delay_.start(hooks_.delay_ms, [this, request, response] {
      if (hooks_.status.ok()) {
        response->set_message(request->message());
      }
      Finish(hooks_.status);
    });
  }
  void OnCancel() override { delay_.cancel(); }
  void OnDone() override { delete this; }

 private:
  CallHooks hooks_;
  Delay delay_;
};

class ServerStreamingReply : public grpc::ServerWriteReactor<EchoResponse> {
 public:
  ServerStreamingReply(grpc::CallbackServerContext* ctx, const EchoRequest* request)
      : hooks_(applyHooks(ctx)), message_(request->message()) {
    message_record.add("ServerStreamingEcho", hooks_, *request);
    writeNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    writeNext();
  }
  void OnCancel() override { delay_.cancel(); }
  void OnDone() override { delete this; }

 private:
  void writeNext() {
    delay_.start(hooks_.delay_ms, [this] {
      if (!hooks_.status.ok()) {
        Finish(hooks_.status);
      } else if (sent_ == kServerStreamingCount) {
        Finish(grpc::Status::OK);
      } else {
        response_.set_message(message_ + " " + std::to_string(++sent_));
        StartWrite(&response_);
      }
    });
  }

  CallHooks hooks_;
  Delay delay_;
  std::string message_;
  EchoResponse response_;
  int sent_ = 0;
};

class ClientStreamingReply : public grpc::ServerReadReactor<EchoRequest> {
 public:
  ClientStreamingReply(grpc::CallbackServerContext* ctx, EchoResponse* response)
      : hooks_(applyHooks(ctx)), response_(response) {
    if (!hooks_.status.ok()) {
      delay_.start(hooks_.delay_ms, [this] { Finish(hooks_.status); });
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      message_record.add("ClientStreamingEcho", hooks_, request_);
      if (count_++ > 0) {
        joined_ += ',';
      }
      joined_ += request_.message();
      StartRead(&request_);
      return;
    }
    delay_.start(hooks_.delay_ms, [this] {
      response_->set_message(joined_);
      Finish(grpc::Status::OK);
    });
  }
  void OnCancel() override { delay_.cancel(); }
  void OnDone() override { delete this; }

 private:
  CallHooks hooks_;
  Delay delay_;
  EchoResponse* response_;
  EchoRequest request_;
  std::string joined_;
  int count_ = 0;
};

// Reads one message, answers it, then reads the next: one write outstanding at a time.
class BidirectionalReply : public grpc::ServerBidiReactor<EchoRequest, EchoResponse> {
 public:
  explicit BidirectionalReply(grpc::CallbackServerContext* ctx) : hooks_(applyHooks(ctx)) {
    if (!hooks_.status.ok()) {
      delay_.start(hooks_.delay_ms, [this] { Finish(hooks_.status); });
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    message_record.add("BidirectionalStreamingEcho", hooks_, request_);
    delay_.start(hooks_.delay_ms, [this] {
      response_.set_message(request_.message());
      StartWrite(&response_);
    });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    StartRead(&request_);
  }
  void OnCancel() override { delay_.cancel(); }
  void OnDone() override { delete this; }

 private:
  CallHooks hooks_;
  Delay delay_;
  EchoRequest request_;
  EchoResponse response_;
};

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* UnaryEcho(grpc::CallbackServerContext* ctx, const EchoRequest* request,
                                      EchoResponse* response) override {
    return new UnaryReply(ctx, request, response);
  }

  grpc::ServerWriteReactor<EchoResponse>* ServerStreamingEcho(grpc::CallbackServerContext* ctx,
                                                              const EchoRequest* request) override {
    return new ServerStreamingReply(ctx, request);
  }

  grpc::ServerReadReactor<EchoRequest>* ClientStreamingEcho(grpc::CallbackServerContext* ctx,
                                                            EchoResponse* response) override {
    return new ClientStreamingReply(ctx, response);
  }

  grpc::ServerBidiReactor<EchoRequest, EchoResponse>* BidirectionalStreamingEcho(
      grpc::CallbackServerContext* ctx) override {
    return new BidirectionalReply(ctx);
  }
};

bool readFile(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream out;
  out << in.rdbuf();
  text = out.str();
  return true;
}

struct Arguments {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  std::string record;
};

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--host H] [--port N] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]\n"
               "          [--record FILE]\n"
               "  --port 0 picks a free port; --tls-ca requires client certificates (mTLS);\n"
               "  --record appends '<method> <call-id> <message>' per request message to FILE\n",
               program);
  return 2;
}

std::shared_ptr<grpc::ServerCredentials> credentialsOf(const Arguments& args, std::string& error) {
  if (args.tls_cert.empty() && args.tls_key.empty()) {
    if (!args.tls_ca.empty()) {
      error = "--tls-ca needs --tls-cert and --tls-key";
      return nullptr;
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  if (!readFile(args.tls_key, pair.private_key) || !readFile(args.tls_cert, pair.cert_chain)) {
    error = "cannot read --tls-cert or --tls-key";
    return nullptr;
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!args.tls_ca.empty()) {
    if (!readFile(args.tls_ca, options.pem_root_certs)) {
      error = "cannot read --tls-ca";
      return nullptr;
    }
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

}  // namespace echo

int main(int argc, char** argv) {
  echo::Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      return echo::usage(argv[0]);
    }
    const char* value = argv[++i];
    if (flag == "--host") {
      args.host = value;
    } else if (flag == "--port") {
      args.port = std::atoi(value);
    } else if (flag == "--tls-cert") {
      args.tls_cert = value;
    } else if (flag == "--tls-key") {
      args.tls_key = value;
    } else if (flag == "--tls-ca") {
      args.tls_ca = value;
    } else if (flag == "--record") {
      args.record = value;
    } else {
      return echo::usage(argv[0]);
    }
  }

  // Block the stop signals before gRPC starts its threads, so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (!args.record.empty() && !echo::message_record.open(args.record)) {
    std::fprintf(stderr, "echo-server: cannot open --record %s\n", args.record.c_str());
    return 2;
  }
  std::string error;
  const std::shared_ptr<grpc::ServerCredentials> credentials = echo::credentialsOf(args, error);
  if (!credentials) {
    std::fprintf(stderr, "echo-server: %s\n", error.c_str());
    return 2;
  }

  echo::EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  // No SO_REUSEPORT: a second server on a taken port must fail, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(args.host + ":" + std::to_string(args.port), credentials, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "echo-server: cannot listen on %s:%d\n", args.host.c_str(), args.port);
    return 1;
  }
  std::printf("listening on %s:%d\n", args.host.c_str(), port);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  // Calls still running get a second to finish, then are cancelled (which ends their delays).
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  // Leave without running destructors: gRPC's executor may still be running alarm callbacks.
  std::fflush(stdout);
  _exit(0);
}
