// The engine: owns the declared bindings, routes frames between them by stream id, assigns
// stream and extension type ids, runs timers and cross-thread posts, all on one engine thread.
//
// Threading: everything here runs on the engine thread (the thread that calls run() or
// runUntil()), except requestStop(), which any thread may call. Bindings are declared and
// created before the loop starts, on the same thread.
#pragma once

#include <zb/abi.h>
#include <zb/runtime/plugin.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zb::runtime {

// "debug", "info", "warn" or "error".
const char* logLevelName(zb_log_level level);

// Where engine and binding log lines go. Any thread.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write(zb_log_level level, std::string_view binding, std::string_view msg) = 0;
};

// Writes "<level> <binding>: <msg>" lines to stderr, at or above a threshold.
class StderrLog : public LogSink {
 public:
  explicit StderrLog(zb_log_level threshold = ZB_LOG_INFO) : threshold_(threshold) {}
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override;
  void setThreshold(zb_log_level threshold) { threshold_ = threshold; }

 private:
  zb_log_level threshold_;
  std::mutex mutex_;
};

// Receives the metrics bindings register and record. Engine thread.
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual uint32_t declare(zb_metric_kind kind, std::string_view binding, std::string_view name,
                           std::string_view labels) = 0;
  virtual void record(uint32_t id, int64_t value) = 0;
};

// One entry of zilla.yaml's `bindings`, resolved enough to create it.
struct BindingDeclaration {
  std::string namespace_name;
  std::string name;
  std::string type;
  std::string kind;
  std::string entry;  // name of the entry binding, or empty
  std::string exit;   // name of the binding-level exit, or empty
  std::string options_json = "{}";
  std::string routes_json = "[]";
  std::string binding_json = "{}";
};

class Engine {
 public:
  explicit Engine(LogSink& log, MetricSink* metrics = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The host call table bindings receive (also handed to zb_binding_init by the loader).
  static const zb_host_api_t* hostApi();

  // Makes a binding type available: from a loaded plugin, or an in-process table (tests).
  // Returns false with `error` when the type name is already registered.
  bool addType(std::shared_ptr<Plugin> plugin, std::string& error);
  bool addType(const zb_binding_api_t* api, std::string& error);
  const zb_binding_api_t* typeApi(std::string_view type_name) const;

  // Declares a binding; ids are assigned in declaration order. Returns the id, or 0 with
  // `error` when the name is taken or the type unknown.
  uint64_t declare(const BindingDeclaration& declaration, std::string& error);
  uint64_t bindingId(std::string_view name) const;

  // Calls on_binding_new for every declared binding (entry/exit resolved by name). On the first
  // refusal, destroys the ones created and returns false with "<binding>: <reason>".
  bool create(std::string& error);
  // Calls on_binding_start for every binding.
  void start();

  // Runs the loop on this thread until requestStop() (then stops the bindings, drains for at
  // most `drain_ns`, and returns).
  void run(int64_t drain_ns = 5'000'000'000);
  // Runs the loop until `done` is true or `timeout_ns` passes; returns done(). For tests.
  bool runUntil(const std::function<bool()>& done, int64_t timeout_ns);
  // Runs whatever is due now (timers, posts) without waiting. For tests.
  void poll();

  // Any thread. Ends run(); a second call makes run() return without draining.
  void requestStop();
  // Tells every binding the host is stopping (on_binding_stop), once; run() does it when a stop
  // is requested, a test whenever it wants. Frames and signals keep flowing afterwards.
  void stop();

  // Stops and destroys every binding (on_binding_stop, on_binding_destroy). Idempotent.
  void shutdown();

  // A reload, on the engine thread of a started engine: creates a new instance of each of
  // `fresh` (a name already declared is replaced: from now on it names the new instance, which
  // the other new instances' entry and exit resolve to) and starts them, then stops the
  // instances it replaces and those named in `removed`. A stopped instance keeps getting
  // frames and signals until its last stream closes, or until `drain_ns` passes (its streams are
  // then closed for it: ABORT on what it writes, RESET on what it reads); then it is destroyed.
  // Bindings in neither list are untouched. When a new instance refuses its config, the ones
  // created are destroyed, nothing else changes, and it returns false with "<binding>: <reason>".
  bool replace(const std::vector<BindingDeclaration>& fresh,
               const std::vector<std::string>& removed, int64_t drain_ns, std::string& error);
  // Replaced or removed instances not yet destroyed.
  size_t retiringBindings() const;

  // Any thread: runs `task` on the engine thread at its next turn (run() or runUntil()), in
  // posting order. Returns false once the engine is shut down.
  bool post(std::function<void()> task);

  int64_t nowNs() const;
  size_t openStreams() const;

  struct Impl;  // opaque; public so the host call table can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace zb::runtime
