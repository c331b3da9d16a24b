// The caller's side of gRPC call streams, for tests: the real libbinding-grpc.so loaded through
// the real loader into a real engine, next to an in-process SDK binding ("caller") that opens
// call streams to it and records every frame it gets back.
#pragma once

#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>
#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace zb::grpc_test {

struct MetadataEntry {
  bool binary = false;  // BASE64: `value` is base64 text
  std::string name;
  std::string value;
  bool operator==(const MetadataEntry&) const = default;
};

// What the caller asks for in its BEGIN.
struct CallSpec {
  std::string scheme = "http";
  std::string authority;
  std::string service = "grpc.examples.echo.Echo";
  std::string method = "UnaryEcho";
  std::vector<MetadataEntry> metadata;
  int32_t deadline_ms = 0;
};

// Everything one call stream showed its caller.
struct CallRecord {
  int windows = 0;  // WINDOW frames on the initial direction
  int64_t acknowledged = 0;
  int32_t request_maximum = 0;
  bool reply_begun = false;
  std::vector<MetadataEntry> metadata;
  std::vector<std::string> messages;
  std::vector<int32_t> deferred;  // DataEx.deferred of each INIT fragment
  size_t fragments = 0;
  size_t largest_fragment = 0;
  bool ended = false;
  bool aborted = false;
  bool reset = false;
  int status = -1;  // from the ABORT's or RESET's StatusEx
  std::string message;
  bool released = false;
  std::vector<std::string> events;  // "window", "begin", "data", "end", "abort", "reset"

  bool replyClosed() const { return ended || aborted; }
};

// An initiator stream to the grpc binding, owned by the Harness.
class CallerStream : public sdk::Stream {
 public:
  CallerStream(const sdk::Host& host, uint64_t origin, uint64_t routed, CallRecord& record,
               int32_t reply_window, uint32_t grpc_type);

  int32_t open(const CallSpec& spec);
  // Queues a request message; it goes out, fragmented if need be, within the granted window.
  void send(std::string message);
  // END once the queued messages are out.
  void finish();
  void abortRequest() { doAbort(); }
  void resetReply() { doReset(); }
  // Stop or resume acknowledging reply bytes (reply back-pressure).
  void holdReply(bool hold);

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onData(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onWindow(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;
  void onRelease() override;

 private:
  void pump();
  void readStatus(const zb_frame_t& frame);

  CallRecord& record_;
  int32_t reply_window_;
  uint32_t grpc_type_;
  sdk::ExtensionWriter writer_;
  std::deque<std::string> queue_;
  size_t offset_ = 0;
  bool end_wanted_ = false;
  bool pumping_ = false;
  bool hold_ = false;
  std::string assembling_;
};

// One engine with the grpc binding ("grpc0" in namespace "test", the given options and routes)
// and the caller. `metrics`, when given, receives the metrics the bindings register; it must
// outlive the harness.
class Harness {
 public:
  explicit Harness(const std::string& options_json = "{}", const std::string& routes_json = "[]",
                   runtime::MetricSink* metrics = nullptr);
  ~Harness();

  // False (with error()) when the grpc binding refused its config.
  bool created() const { return created_; }
  const std::string& error() const { return error_; }

  // Opens a call; the stream stays valid as long as the harness.
  CallerStream* call(const CallSpec& spec, CallRecord& record, int32_t reply_window = 65536);
  // Runs the engine until `done` or `timeout_ms`; returns done().
  bool runUntil(const std::function<bool()>& done, int64_t timeout_ms = 10'000);

  runtime::Engine& engine() { return engine_; }
  const sdk::Host& callerHost() const;

 private:
  runtime::StderrLog log_{ZB_LOG_WARN};
  runtime::Engine engine_;
  uint64_t grpc_id_ = 0;
  uint64_t caller_id_ = 0;
  bool created_ = false;
  std::string error_;
  std::vector<std::unique_ptr<CallerStream>> streams_;
};

// The loaded libbinding-grpc.so, shared by every engine of the test process.
std::shared_ptr<runtime::Plugin> grpcPlugin(std::string& error);

// Protobuf bytes of an EchoRequest, and the message of EchoResponse bytes.
std::string echoRequest(const std::string& message);
std::string echoResponse(const std::string& bytes);

}  // namespace zb::grpc_test
