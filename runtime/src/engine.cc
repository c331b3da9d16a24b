#include <zb/runtime/engine.h>

#include "stream_table.h"
#include "timer_queue.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace zb::runtime {

// The host's view of one declared binding; zb_host_binding_t* points at one of these.
struct HostBinding {
  Engine::Impl* engine = nullptr;
  uint64_t id = 0;
  BindingDeclaration declaration;
  const zb_binding_api_t* api = nullptr;
  zb_binding_t* handle = nullptr;
  size_t open_streams = 0;  // streams it is a side of
  bool stopped = false;     // on_binding_stop was called
  // Replaced or removed by a reload: it finishes its streams, then it is destroyed (at the
  // latest at retire_deadline_ns, its streams then closed for it).
  bool retiring = false;
  int64_t retire_since_ns = 0;
  int64_t retire_deadline_ns = 0;
};

namespace {

HostBinding* fromHandle(zb_host_binding_t* host_binding) {
  return reinterpret_cast<HostBinding*>(host_binding);
}
zb_host_binding_t* toHandle(HostBinding* binding) {
  return reinterpret_cast<zb_host_binding_t*>(binding);
}

int64_t steadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool closesDirection(uint32_t type) {
  return type == ZB_FRAME_END || type == ZB_FRAME_ABORT || type == ZB_FRAME_RESET;
}

}  // namespace

const char* logLevelName(zb_log_level level) {
  switch (level) {
    case ZB_LOG_DEBUG:
      return "debug";
    case ZB_LOG_INFO:
      return "info";
    case ZB_LOG_WARN:
      return "warn";
    case ZB_LOG_ERROR:
      return "error";
  }
  return "info";
}

void StderrLog::write(zb_log_level level, std::string_view binding, std::string_view msg) {
  if (level < threshold_) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::fprintf(stderr, "%s %.*s: %.*s\n", logLevelName(level), static_cast<int>(binding.size()),
               binding.data(), static_cast<int>(msg.size()), msg.data());
}

struct Engine::Impl {
  // A signal posted from another thread, waiting for the engine thread.
  struct Post {
    HostBinding* binding;
    uint64_t stream_id;
    int32_t signal_id;
    size_t offset;
    size_t length;
  };

  LogSink& log;
  MetricSink* metrics;
  std::vector<std::shared_ptr<Plugin>> plugins;
  std::unordered_map<std::string, const zb_binding_api_t*> types;
  std::vector<std::unique_ptr<HostBinding>> bindings;  // index = id - 1
  std::unordered_map<std::string, uint64_t> binding_ids;
  std::unordered_map<std::string, uint32_t> type_ids;
  std::unordered_map<std::string, uint32_t> local_metrics;  // when no MetricSink

  StreamTable streams;
  uint64_t next_initial_id = 1;
  TimerQueue timers;

  // Releases wait until no binding hook is on the stack.
  int depth = 0;
  struct Release {
    HostBinding* binding;
    zb_stream_t* stream;
  };
  std::vector<Release> releases;

  // Cross-thread posts, double-buffered so steady state does not allocate.
  std::mutex post_mutex;
  std::condition_variable post_cv;
  std::vector<Post> posts;
  std::vector<uint8_t> post_bytes;
  std::vector<Post> posts_taken;
  std::vector<uint8_t> post_bytes_taken;
  bool waiting = false;
  int stop_requests = 0;  // guarded by post_mutex
  bool closed = false;    // guarded by post_mutex: no more posts
  bool created = false;
  bool started = false;
  bool stopped = false;  // on_binding_stop was called
  bool shut_down = false;
  bool destroying = false;  // bindings are being destroyed: no stream is routed any more

  Impl(LogSink& log_sink, MetricSink* metric_sink) : log(log_sink), metrics(metric_sink) {
    releases.reserve(64);
    posts.reserve(256);
    posts_taken.reserve(256);
    post_bytes.reserve(16384);
    post_bytes_taken.reserve(16384);
  }

  // Every call from the engine into a binding hook goes through a scope, so releases run only
  // once the outermost hook has returned.
  struct Scope {
    explicit Scope(Impl& impl) : impl_(impl) { ++impl_.depth; }
    ~Scope() {
      if (--impl_.depth == 0) {
        impl_.flushReleases();
      }
    }
    Impl& impl_;
  };

  void flushReleases() {
    if (destroying) {
      releases.clear();
      return;
    }
    ++depth;
    for (size_t i = 0; i < releases.size(); ++i) {
      const Release release = releases[i];
      if (release.binding->handle != nullptr) {  // a binding destroyed by a reload is not told
        release.binding->api->on_stream_release(release.binding->handle, release.stream);
      }
    }
    releases.clear();
    --depth;
  }

  HostBinding* bindingById(uint64_t id) {
    return id >= 1 && id <= bindings.size() ? bindings[id - 1].get() : nullptr;
  }

  void logLine(HostBinding* binding, zb_log_level level, std::string_view msg) {
    log.write(level, binding != nullptr ? std::string_view(binding->declaration.name) : "engine",
              msg);
  }

  // ---- Streams

  int32_t streamBegin(HostBinding* initiator, zb_stream_t* stream, const zb_frame_t* begin) {
    if (begin == nullptr || begin->type != ZB_FRAME_BEGIN ||
        !ZB_STREAM_IS_INITIAL(begin->stream_id) || stream == nullptr) {
      return ZB_ERR_INVALID;
    }
    HostBinding* target = bindingById(begin->routed_id);
    if (destroying || target == nullptr || target->handle == nullptr) {
      return ZB_ERR_NO_ROUTE;
    }
    if (streams.find(begin->stream_id) != nullptr) {
      return ZB_ERR_INVALID;
    }
    StreamRoute route;
    route.initiator = initiator;
    route.initiator_stream = stream;
    route.acceptor = target;
    streams.insert(begin->stream_id, route);
    ++initiator->open_streams;
    ++target->open_streams;

    Scope scope(*this);
    zb_stream_t* accepted = target->api->on_stream_new(target->handle, begin);
    StreamRoute* entry = streams.find(begin->stream_id);
    if (accepted == nullptr) {
      if (entry != nullptr) {
        streams.erase(begin->stream_id);
        streamGone(*initiator);
        streamGone(*target);
      }
      return ZB_ERR_REFUSED;
    }
    entry->acceptor_stream = accepted;
    target->api->on_frame(target->handle, accepted, begin);
    return ZB_OK;
  }

  int32_t streamSend(HostBinding* sender, const zb_frame_t* frame) {
    if (frame == nullptr || frame->type == ZB_FRAME_SIGNAL ||
        (frame->type == ZB_FRAME_BEGIN && ZB_STREAM_IS_INITIAL(frame->stream_id))) {
      return ZB_ERR_INVALID;
    }
    if (frame->type == ZB_FRAME_WINDOW && (frame->maximum < 0 || frame->padding < 0)) {
      return ZB_ERR_INVALID;  // credit that would move the writer's sequence backwards
    }
    const uint64_t initial_id = ZB_STREAM_INITIAL_ID(frame->stream_id);
    StreamRoute* route = streams.find(initial_id);
    if (route == nullptr || route->acceptor_stream == nullptr) {
      return ZB_ERR_UNKNOWN_STREAM;
    }
    const bool initial = ZB_STREAM_IS_INITIAL(frame->stream_id);
    const bool throttle = ZB_FRAME_IS_THROTTLE(frame->type);
    // Frames with the initial direction and throttles of the reply go to the acceptor.
    const bool to_acceptor = initial != throttle;
    HostBinding* expected_sender = to_acceptor ? route->initiator : route->acceptor;
    if (expected_sender != sender) {
      return ZB_ERR_UNKNOWN_STREAM;
    }
    bool& direction_closed = initial ? route->initial_closed : route->reply_closed;
    if (direction_closed) {
      return ZB_ERR_CLOSED;
    }
    if (closesDirection(frame->type)) {
      direction_closed = true;
    }
    HostBinding* receiver = to_acceptor ? route->acceptor : route->initiator;
    zb_stream_t* receiver_stream = to_acceptor ? route->acceptor_stream : route->initiator_stream;
    if (route->initial_closed && route->reply_closed) {
      releases.push_back(Release{route->initiator, route->initiator_stream});
      releases.push_back(Release{route->acceptor, route->acceptor_stream});
      streamGone(*route->initiator);
      streamGone(*route->acceptor);
      streams.erase(initial_id);
    }
    Scope scope(*this);
    receiver->api->on_frame(receiver->handle, receiver_stream, frame);
    return ZB_OK;
  }

  // A stream `binding` was a side of is gone; a retiring binding with none left can go.
  void streamGone(HostBinding& binding) {
    if (--binding.open_streams == 0 && binding.retiring) {
      retire_ready = true;
    }
  }

  // ---- Bindings replaced or removed while running (reloads)

  std::vector<HostBinding*> retiring;
  bool retire_ready = false;  // a retiring binding has no stream left

  void stopBinding(HostBinding& binding) {
    if (binding.stopped || binding.handle == nullptr) {
      return;
    }
    binding.stopped = true;
    if (binding.api->on_binding_stop != nullptr) {
      Scope scope(*this);
      binding.api->on_binding_stop(binding.handle);
    }
  }

  void destroyBinding(HostBinding& binding) {
    if (binding.handle == nullptr) {
      return;
    }
    Scope scope(*this);
    binding.api->on_binding_destroy(binding.handle);
    binding.handle = nullptr;
  }

  // Closes for `binding` every stream it is still a side of, as a peer that gives up would:
  // ABORT on what it writes, RESET on what it reads. The other side sees an ordinary failure.
  void closeStreamsOf(HostBinding& binding) {
    std::vector<uint64_t> ids;
    streams.forEach([&](uint64_t id, const StreamRoute& route) {
      if (route.initiator == &binding || route.acceptor == &binding) {
        ids.push_back(id);
      }
    });
    Scope scope(*this);
    for (const uint64_t id : ids) {
      const StreamRoute* route = streams.find(id);
      if (route == nullptr || route->acceptor_stream == nullptr) {
        continue;
      }
      const bool initiates = route->initiator == &binding;
      zb_frame_t frame;
      std::memset(&frame, 0, sizeof frame);
      frame.struct_size = sizeof frame;
      frame.origin_id = route->initiator->id;
      frame.routed_id = route->acceptor->id;
      const bool reply_open = !route->reply_closed;
      if (!route->initial_closed) {
        frame.type = initiates ? ZB_FRAME_ABORT : ZB_FRAME_RESET;
        frame.stream_id = id;
        streamSend(&binding, &frame);
      }
      if (reply_open) {
        frame.type = initiates ? ZB_FRAME_RESET : ZB_FRAME_ABORT;
        frame.stream_id = ZB_STREAM_REPLY_ID(id);
        streamSend(&binding, &frame);
      }
    }
  }

  // Destroys the retiring bindings that have no stream left, or whose drain time is up.
  void retireDue(int64_t now) {
    retire_ready = false;
    for (size_t i = 0; i < retiring.size();) {
      HostBinding& binding = *retiring[i];
      if (binding.open_streams > 0 && now < binding.retire_deadline_ns) {
        ++i;
        continue;
      }
      const size_t left = binding.open_streams;
      if (left > 0) {
        logLine(&binding, ZB_LOG_WARN,
                "replaced or removed: " + std::to_string(left) +
                    " stream(s) still open when its drain time was up; closed");
        closeStreamsOf(binding);
      }
      destroyBinding(binding);
      logLine(&binding, ZB_LOG_INFO,
              "the previous instance is released, " +
                  std::to_string((now - binding.retire_since_ns) / 1'000'000) +
                  " ms after the reload");
      retiring.erase(retiring.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  int64_t nextRetireDeadline() const {
    int64_t next = 0;
    for (const HostBinding* binding : retiring) {
      if (next == 0 || binding->retire_deadline_ns < next) {
        next = binding->retire_deadline_ns;
      }
    }
    return next;
  }

  // Work handed over from another thread (a reload), run on the engine thread in posting order.
  std::vector<std::function<void()>> tasks;        // guarded by post_mutex
  std::vector<std::function<void()>> tasks_taken;  // engine thread

  // ---- Signals and posts

  void deliverSignal(HostBinding* binding, uint64_t stream_id, int32_t signal_id,
                     const uint8_t* payload, size_t length) {
    if (binding->handle == nullptr || binding->api->on_signal == nullptr) {
      return;
    }
    zb_frame_t frame;
    std::memset(&frame, 0, sizeof frame);
    frame.struct_size = sizeof frame;
    frame.type = ZB_FRAME_SIGNAL;
    frame.routed_id = binding->id;
    frame.stream_id = stream_id;
    frame.signal_id = signal_id;
    frame.payload = payload;
    frame.payload_length = length;
    frame.timestamp = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    Scope scope(*this);
    binding->api->on_signal(binding->handle, &frame);
  }

  int32_t post(HostBinding* binding, uint64_t stream_id, int32_t signal_id, const uint8_t* payload,
               size_t length) {
    std::lock_guard<std::mutex> lock(post_mutex);
    if (closed) {
      return ZB_ERR_CLOSED;
    }
    const size_t offset = post_bytes.size();
    if (payload != nullptr && length > 0) {
      post_bytes.insert(post_bytes.end(), payload, payload + length);
    }
    posts.push_back(Post{binding, stream_id, signal_id, offset, payload != nullptr ? length : 0});
    if (waiting) {
      post_cv.notify_one();
    }
    return ZB_OK;
  }

  // Runs due timers and pending posts; returns whether anything ran.
  bool runDue() {
    bool ran = false;
    const int64_t now = steadyNowNs();
    TimerQueue::Due due;
    while (timers.popDue(now, due)) {
      ran = true;
      deliverSignal(static_cast<HostBinding*>(due.owner), due.stream_id, due.signal_id, nullptr, 0);
    }
    if (!retiring.empty() && (retire_ready || now >= nextRetireDeadline())) {
      ran = true;
      retireDue(now);
    }
    {
      std::lock_guard<std::mutex> lock(post_mutex);
      posts_taken.swap(posts);
      post_bytes_taken.swap(post_bytes);
      if (!tasks.empty()) {
        tasks_taken.swap(tasks);
      }
    }
    for (std::function<void()>& task : tasks_taken) {
      ran = true;
      task();
    }
    tasks_taken.clear();
    for (const Post& post : posts_taken) {
      ran = true;
      deliverSignal(post.binding, post.stream_id, post.signal_id,
                    post.length > 0 ? post_bytes_taken.data() + post.offset : nullptr, post.length);
    }
    posts_taken.clear();
    post_bytes_taken.clear();
    return ran;
  }

  // Waits for a post, the next timer, a stop request or `limit_ns`, whichever comes first.
  void wait(int64_t limit_ns) {
    int64_t until = limit_ns;
    if (const int64_t next = timers.nextDeadline(); next != 0 && next < until) {
      until = next;
    }
    if (const int64_t next = nextRetireDeadline(); next != 0 && next < until) {
      until = next;
    }
    if (retire_ready) {
      return;
    }
    std::unique_lock<std::mutex> lock(post_mutex);
    if (!posts.empty() || !tasks.empty() || stop_requests > seen_stop_requests) {
      return;
    }
    const int64_t now = steadyNowNs();
    if (until <= now) {
      return;
    }
    waiting = true;
    post_cv.wait_for(lock, std::chrono::nanoseconds(until - now));
    waiting = false;
  }

  int seen_stop_requests = 0;

  // on_binding_new for `binding`, its entry and exit resolved by name.
  bool createBinding(HostBinding& binding, std::string& error);

  int stopRequests() {
    std::lock_guard<std::mutex> lock(post_mutex);
    return stop_requests;
  }
};

// ---- The host call table

namespace {

Engine::Impl& engineOf(zb_host_binding_t* host_binding) {
  return *fromHandle(host_binding)->engine;
}

void hostLog(zb_host_binding_t* host_binding, zb_log_level level, const char* msg, size_t length) {
  HostBinding* binding = fromHandle(host_binding);
  if (binding == nullptr) {
    return;
  }
  binding->engine->logLine(binding, level, std::string_view(msg, length));
}

uint32_t hostTypeId(zb_host_binding_t* host_binding, const char* type_name) {
  if (type_name == nullptr) {
    return 0;
  }
  Engine::Impl& engine = engineOf(host_binding);
  auto [it, inserted] =
      engine.type_ids.emplace(type_name, static_cast<uint32_t>(engine.type_ids.size() + 1));
  return it->second;
}

uint64_t hostBindingId(zb_host_binding_t* host_binding, const char* name) {
  if (name == nullptr) {
    return 0;
  }
  Engine::Impl& engine = engineOf(host_binding);
  auto it = engine.binding_ids.find(name);
  return it != engine.binding_ids.end() ? it->second : 0;
}

uint64_t hostStreamId(zb_host_binding_t* host_binding, uint64_t /*routed_id*/) {
  Engine::Impl& engine = engineOf(host_binding);
  const uint64_t id = engine.next_initial_id;
  engine.next_initial_id += 2;
  return id;
}

int32_t hostStreamBegin(zb_host_binding_t* host_binding, zb_stream_t* stream,
                        const zb_frame_t* begin) {
  return engineOf(host_binding).streamBegin(fromHandle(host_binding), stream, begin);
}

int32_t hostStreamSend(zb_host_binding_t* host_binding, const zb_frame_t* frame) {
  return engineOf(host_binding).streamSend(fromHandle(host_binding), frame);
}

uint64_t hostSignalAt(zb_host_binding_t* host_binding, int64_t deadline_ns, uint64_t stream_id,
                      int32_t signal_id) {
  return engineOf(host_binding)
      .timers.schedule(deadline_ns, fromHandle(host_binding), stream_id, signal_id);
}

void hostSignalCancel(zb_host_binding_t* host_binding, uint64_t cancel_id) {
  engineOf(host_binding).timers.cancel(cancel_id);
}

int32_t hostPost(zb_host_binding_t* host_binding, uint64_t stream_id, int32_t signal_id,
                 const uint8_t* payload, size_t length) {
  return engineOf(host_binding)
      .post(fromHandle(host_binding), stream_id, signal_id, payload, length);
}

int64_t hostNowNs(zb_host_binding_t*) { return steadyNowNs(); }

uint32_t hostMetricRegister(zb_host_binding_t* host_binding, zb_metric_kind kind, const char* name,
                            const char* labels) {
  HostBinding* binding = fromHandle(host_binding);
  Engine::Impl& engine = *binding->engine;
  const std::string_view label_text = labels != nullptr ? labels : "";
  if (engine.metrics != nullptr) {
    return engine.metrics->declare(kind, binding->declaration.name, name != nullptr ? name : "",
                                   label_text);
  }
  std::string key = binding->declaration.name + "|" + (name != nullptr ? name : "") + "|" +
                    std::string(label_text);
  auto [it, inserted] = engine.local_metrics.emplace(
      std::move(key), static_cast<uint32_t>(engine.local_metrics.size() + 1));
  return it->second;
}

void hostMetricRecord(zb_host_binding_t* host_binding, uint32_t metric_id, int64_t value) {
  Engine::Impl& engine = engineOf(host_binding);
  if (engine.metrics != nullptr) {
    engine.metrics->record(metric_id, value);
  }
}

const zb_host_api_t kHostApi = {
    ZB_ABI_MAJOR,    ZB_ABI_MINOR,        sizeof(zb_host_api_t), &hostLog,
    &hostTypeId,     &hostBindingId,      &hostStreamId,         &hostStreamBegin,
    &hostStreamSend, &hostSignalAt,       &hostSignalCancel,     &hostPost,
    &hostNowNs,      &hostMetricRegister, &hostMetricRecord,
};

}  // namespace

// ---- Engine

Engine::Engine(LogSink& log, MetricSink* metrics) : impl_(std::make_unique<Impl>(log, metrics)) {}

Engine::~Engine() { shutdown(); }

const zb_host_api_t* Engine::hostApi() { return &kHostApi; }

bool Engine::addType(std::shared_ptr<Plugin> plugin, std::string& error) {
  if (!addType(plugin->api(), error)) {
    return false;
  }
  impl_->plugins.push_back(std::move(plugin));
  return true;
}

bool Engine::addType(const zb_binding_api_t* api, std::string& error) {
  if (api == nullptr || api->type_name == nullptr) {
    error = "binding table without a type name";
    return false;
  }
  if (!impl_->types.emplace(api->type_name, api).second) {
    error = std::string("binding type ") + api->type_name + " is already registered";
    return false;
  }
  return true;
}

const zb_binding_api_t* Engine::typeApi(std::string_view type_name) const {
  auto it = impl_->types.find(std::string(type_name));
  return it != impl_->types.end() ? it->second : nullptr;
}

uint64_t Engine::declare(const BindingDeclaration& declaration, std::string& error) {
  const zb_binding_api_t* api = typeApi(declaration.type);
  if (api == nullptr) {
    error = declaration.name + ": no binding type " + declaration.type;
    return 0;
  }
  if (impl_->binding_ids.count(declaration.name) != 0) {
    error = declaration.name + ": a binding with this name is already declared";
    return 0;
  }
  auto binding = std::make_unique<HostBinding>();
  binding->engine = impl_.get();
  binding->id = impl_->bindings.size() + 1;
  binding->declaration = declaration;
  binding->api = api;
  impl_->binding_ids.emplace(declaration.name, binding->id);
  impl_->bindings.push_back(std::move(binding));
  return impl_->bindings.back()->id;
}

uint64_t Engine::bindingId(std::string_view name) const {
  auto it = impl_->binding_ids.find(std::string(name));
  return it != impl_->binding_ids.end() ? it->second : 0;
}

namespace {

// What on_binding_new is told of `binding`; the strings point into its declaration.
zb_binding_config_t configOf(const HostBinding& binding, uint64_t entry_id, uint64_t exit_id) {
  const BindingDeclaration& d = binding.declaration;
  zb_binding_config_t config;
  std::memset(&config, 0, sizeof config);
  config.struct_size = sizeof config;
  config.id = binding.id;
  config.namespace_ = d.namespace_name.c_str();
  config.name = d.name.c_str();
  config.type = d.type.c_str();
  config.kind = d.kind.c_str();
  config.entry_id = entry_id;
  config.exit_id = exit_id;
  config.options_json = d.options_json.c_str();
  config.routes_json = d.routes_json.c_str();
  config.binding_json = d.binding_json.c_str();
  return config;
}

}  // namespace

bool Engine::Impl::createBinding(HostBinding& binding, std::string& error) {
  const BindingDeclaration& d = binding.declaration;
  auto idOf = [this](const std::string& name) {
    auto it = binding_ids.find(name);
    return it != binding_ids.end() ? it->second : 0;
  };
  const uint64_t entry_id = d.entry.empty() ? 0 : idOf(d.entry);
  const uint64_t exit_id = d.exit.empty() ? 0 : idOf(d.exit);
  if ((!d.entry.empty() && entry_id == 0) || (!d.exit.empty() && exit_id == 0)) {
    error = d.name + ": " +
            (entry_id == 0 && !d.entry.empty() ? "entry " + d.entry : "exit " + d.exit) +
            " names no declared binding";
    return false;
  }
  const zb_binding_config_t config = configOf(binding, entry_id, exit_id);
  char reason[1024] = {0};
  Scope scope(*this);
  binding.handle = binding.api->on_binding_new(toHandle(&binding), &config, reason, sizeof reason);
  if (binding.handle == nullptr) {
    reason[sizeof reason - 1] = '\0';
    error = d.name + ": " + (reason[0] != '\0' ? reason : "the binding refused its config");
    return false;
  }
  return true;
}

bool Engine::create(std::string& error) {
  for (auto& binding : impl_->bindings) {
    if (!impl_->createBinding(*binding, error)) {
      shutdown();
      return false;
    }
  }
  impl_->created = true;
  return true;
}

bool Engine::replace(const std::vector<BindingDeclaration>& fresh,
                     const std::vector<std::string>& removed, int64_t drain_ns,
                     std::string& error) {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) {
    error = "the engine is not running";
    return false;
  }
  for (const BindingDeclaration& declaration : fresh) {
    if (typeApi(declaration.type) == nullptr) {
      error = declaration.name + ": no binding type " + declaration.type;
      return false;
    }
  }
  // The new instances take their names first, so that they resolve one another.
  const std::unordered_map<std::string, uint64_t> previous_ids = impl.binding_ids;
  std::vector<HostBinding*> created;
  for (const BindingDeclaration& declaration : fresh) {
    auto binding = std::make_unique<HostBinding>();
    binding->engine = &impl;
    binding->id = impl.bindings.size() + 1;
    binding->declaration = declaration;
    binding->api = typeApi(declaration.type);
    impl.binding_ids[declaration.name] = binding->id;
    created.push_back(binding.get());
    impl.bindings.push_back(std::move(binding));
  }
  for (const std::string& name : removed) {
    impl.binding_ids.erase(name);
  }
  for (size_t i = 0; i < created.size(); ++i) {
    if (!impl.createBinding(*created[i], error)) {
      for (size_t j = i; j-- > 0;) {
        impl.destroyBinding(*created[j]);
      }
      impl.binding_ids = previous_ids;
      return false;
    }
  }
  // The new instances start before the old ones stop, so that a stream the old one closes
  // never leaves its peer without a successor (a consumer group would unsubscribe and rejoin).
  for (HostBinding* binding : created) {
    if (binding->api->on_binding_start != nullptr) {
      Impl::Scope scope(impl);
      binding->api->on_binding_start(binding->handle);
    }
  }
  const int64_t now = nowNs();
  auto retire = [&](const std::string& name) {
    auto it = previous_ids.find(name);
    HostBinding* old = it != previous_ids.end() ? impl.bindingById(it->second) : nullptr;
    if (old == nullptr || old->handle == nullptr || old->retiring) {
      return;
    }
    impl.stopBinding(*old);
    old->retiring = true;
    old->retire_since_ns = now;
    old->retire_deadline_ns = now + drain_ns;
    impl.retiring.push_back(old);
    if (old->open_streams == 0) {
      impl.retire_ready = true;
    }
  };
  for (const BindingDeclaration& declaration : fresh) {
    retire(declaration.name);
  }
  for (const std::string& name : removed) {
    retire(name);
  }
  return true;
}

size_t Engine::retiringBindings() const { return impl_->retiring.size(); }

bool Engine::post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(impl_->post_mutex);
  if (impl_->closed) {
    return false;
  }
  impl_->tasks.push_back(std::move(task));
  impl_->post_cv.notify_one();
  return true;
}

void Engine::start() {
  if (!impl_->created || impl_->started) {
    return;
  }
  impl_->started = true;
  for (auto& binding : impl_->bindings) {
    if (binding->api->on_binding_start != nullptr) {
      Impl::Scope scope(*impl_);
      binding->api->on_binding_start(binding->handle);
    }
  }
}

void Engine::poll() { impl_->runDue(); }

bool Engine::runUntil(const std::function<bool()>& done, int64_t timeout_ns) {
  const int64_t deadline = nowNs() + timeout_ns;
  while (!done()) {
    if (impl_->runDue()) {
      continue;
    }
    if (nowNs() >= deadline) {
      return done();
    }
    impl_->wait(deadline);
  }
  return true;
}

void Engine::run(int64_t drain_ns) {
  constexpr int64_t kIdleWaitNs = 1'000'000'000;
  while (impl_->stopRequests() == 0) {
    if (!impl_->runDue()) {
      impl_->wait(nowNs() + kIdleWaitNs);
    }
  }
  impl_->seen_stop_requests = 1;
  stop();
  const int64_t deadline = nowNs() + drain_ns;
  while (impl_->streams.size() > 0 && impl_->stopRequests() < 2 && nowNs() < deadline) {
    if (!impl_->runDue()) {
      impl_->wait(deadline);
    }
  }
  if (impl_->streams.size() > 0) {
    impl_->logLine(
        nullptr, ZB_LOG_WARN,
        std::to_string(impl_->streams.size()) + " streams still open when the engine stopped");
  }
  shutdown();
}

void Engine::stop() {
  if (impl_->stopped || !impl_->started) {
    return;
  }
  impl_->stopped = true;
  for (auto& binding : impl_->bindings) {
    impl_->stopBinding(*binding);
  }
}

void Engine::requestStop() {
  std::lock_guard<std::mutex> lock(impl_->post_mutex);
  ++impl_->stop_requests;
  impl_->post_cv.notify_one();
}

void Engine::shutdown() {
  if (impl_->shut_down) {
    return;
  }
  impl_->shut_down = true;
  stop();
  // Streams still open are released first (both sides; no more frames will reach them), then
  // bindings are destroyed in reverse order of declaration; each joins its own threads, so no
  // post can arrive after its destroy returns.
  {
    Impl::Scope scope(*impl_);
    impl_->streams.eraseIf([this](const StreamRoute& route) {
      impl_->releases.push_back(Impl::Release{route.initiator, route.initiator_stream});
      if (route.acceptor_stream != nullptr) {
        impl_->releases.push_back(Impl::Release{route.acceptor, route.acceptor_stream});
      }
      return true;
    });
  }
  impl_->destroying = true;
  for (auto it = impl_->bindings.rbegin(); it != impl_->bindings.rend(); ++it) {
    HostBinding& binding = **it;
    if (binding.handle != nullptr) {
      binding.api->on_binding_destroy(binding.handle);
      binding.handle = nullptr;
    }
  }
  impl_->retiring.clear();
  impl_->releases.clear();
  impl_->streams.clear();
  std::lock_guard<std::mutex> lock(impl_->post_mutex);
  impl_->closed = true;
  impl_->posts.clear();
  impl_->tasks.clear();
}

int64_t Engine::nowNs() const { return steadyNowNs(); }

size_t Engine::openStreams() const { return impl_->streams.size(); }

}  // namespace zb::runtime
