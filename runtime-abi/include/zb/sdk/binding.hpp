// A header-only C++ SDK over zb/abi.h: a binding is a Binding subclass, each stream a Stream
// subclass, and ZB_BINDING_EXPORT produces the one exported init function with every hook
// wrapped so that no exception crosses the ABI.
//
// Threading follows the ABI: everything here runs on the engine thread, except Host::post and
// Host::log, which any thread may call.
#pragma once

#include <zb/abi.h>
#include <zb/sdk/flow.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace zb::sdk {

class Stream;

// The host's calls, bound to one declared binding.
class Host {
 public:
  Host() = default;
  Host(const zb_host_api_t* api, zb_host_binding_t* binding) : api_(api), binding_(binding) {}

  // Any thread.
  void log(zb_log_level level, std::string_view msg) const {
    api_->log(binding_, level, msg.data(), msg.size());
  }
  // Any thread. printf-style; messages longer than 1 KiB are truncated.
  void logf(zb_log_level level, const char* format, ...) const
      __attribute__((format(printf, 3, 4))) {
    char line[1024];
    va_list args;
    va_start(args, format);
    const int n = std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n > 0) {
      log(level, std::string_view(line, std::min<size_t>(size_t(n), sizeof line - 1)));
    }
  }

  uint32_t typeId(const char* name) const { return api_->type_id(binding_, name); }
  uint64_t bindingId(const char* name) const { return api_->binding_id(binding_, name); }
  uint64_t streamId(uint64_t routed_id) const { return api_->stream_id(binding_, routed_id); }
  int32_t begin(zb_stream_t* stream, const zb_frame_t& frame) const {
    return api_->stream_begin(binding_, stream, &frame);
  }
  int32_t send(const zb_frame_t& frame) const { return api_->stream_send(binding_, &frame); }
  uint64_t signalAt(int64_t deadline_ns, uint64_t stream_id, int32_t signal_id) const {
    return api_->signal_at(binding_, deadline_ns, stream_id, signal_id);
  }
  void signalCancel(uint64_t cancel_id) const { api_->signal_cancel(binding_, cancel_id); }
  // Any thread.
  int32_t post(uint64_t stream_id, int32_t signal_id, const void* payload = nullptr,
               size_t length = 0) const {
    return api_->post(binding_, stream_id, signal_id, static_cast<const uint8_t*>(payload), length);
  }
  int64_t nowNs() const { return api_->now_ns(binding_); }
  uint32_t metric(zb_metric_kind kind, const char* name, const char* labels = nullptr) const {
    return api_->metric_register(binding_, kind, name, labels);
  }
  void record(uint32_t metric_id, int64_t value) const {
    api_->metric_record(binding_, metric_id, value);
  }

  const zb_host_api_t* api() const { return api_; }
  zb_host_binding_t* binding() const { return binding_; }

 private:
  const zb_host_api_t* api_ = nullptr;
  zb_host_binding_t* binding_ = nullptr;
};

// A frame with every field zero but its size and type.
inline zb_frame_t makeFrame(zb_frame_type type) {
  zb_frame_t frame;
  std::memset(&frame, 0, sizeof frame);
  frame.struct_size = sizeof frame;
  frame.type = type;
  return frame;
}

// Extension bytes with their type id, as frames carry them.
struct Extension {
  uint32_t type_id = ZB_EXTENSION_NONE;
  const uint8_t* data = nullptr;
  uint32_t length = 0;
};

inline void setExtension(zb_frame_t& frame, const Extension& ext) {
  frame.extension_type_id = ext.data != nullptr ? ext.type_id : ZB_EXTENSION_NONE;
  frame.extension = ext.data;
  frame.extension_length = ext.data != nullptr ? ext.length : 0;
}

inline Extension extensionOf(const zb_frame_t& frame) {
  return Extension{frame.extension_type_id, frame.extension, frame.extension_length};
}

// One side of a stream. The SDK keeps ids, the open/closed state of both directions and the flow
// control of both, and dispatches each frame to one virtual method.
//
// A Stream is owned by its Binding; by default onRelease() deletes it.
class Stream {
 public:
  // Initiator side: the stream to `routed_id` gets a fresh initial id; call doBegin() to open it.
  Stream(const Host& host, uint64_t origin_id, uint64_t routed_id)
      : host_(host),
        origin_id_(origin_id),
        routed_id_(routed_id),
        initial_id_(host.streamId(routed_id)),
        initiator_(true) {}

  // Acceptor side: built from the initial BEGIN given to Binding::onStreamNew.
  Stream(const Host& host, const zb_frame_t& begin)
      : host_(host),
        origin_id_(begin.origin_id),
        routed_id_(begin.routed_id),
        initial_id_(begin.stream_id),
        initiator_(false) {}

  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  zb_stream_t* handle() { return reinterpret_cast<zb_stream_t*>(this); }
  static Stream* from(zb_stream_t* handle) { return reinterpret_cast<Stream*>(handle); }

  uint64_t originId() const { return origin_id_; }
  uint64_t routedId() const { return routed_id_; }
  uint64_t initialId() const { return initial_id_; }
  uint64_t replyId() const { return ZB_STREAM_REPLY_ID(initial_id_); }
  bool initiator() const { return initiator_; }
  // The direction this side writes, and the one it reads.
  uint64_t writeId() const { return initiator_ ? initialId() : replyId(); }
  uint64_t readId() const { return initiator_ ? replyId() : initialId(); }

  // The direction this side writes.
  SendWindow& out() { return out_; }
  // The direction this side reads.
  ReceiveWindow& in() { return in_; }

  bool writeOpened() const { return write_opened_; }
  bool writeClosed() const { return write_closed_; }
  bool readOpened() const { return read_opened_; }
  bool readClosed() const { return read_closed_; }
  bool closed() const { return write_closed_ && read_closed_; }

  // ---- Sending on the direction this side writes. Each returns a zb_result.

  // Opens this side's direction. For an initiator this opens the stream; the result is
  // ZB_ERR_NO_ROUTE or ZB_ERR_REFUSED when the target does not take it (then the stream is
  // closed both ways and never released: the binding drops it itself).
  int32_t doBegin(const Extension& ext = {}, uint64_t trace_id = 0, uint64_t authorization = 0) {
    zb_frame_t frame = frameOf(ZB_FRAME_BEGIN, writeId());
    frame.trace_id = trace_id;
    frame.authorization = authorization;
    setExtension(frame, ext);
    write_opened_ = true;
    const int32_t result = initiator_ ? host_.begin(handle(), frame) : host_.send(frame);
    if (result != ZB_OK && initiator_) {
      write_closed_ = read_closed_ = true;
    }
    return result;
  }

  // DATA with `reserved` = length + the reader's padding; payload == nullptr is a null payload.
  int32_t doData(uint8_t flags, const uint8_t* payload, size_t length, const Extension& ext = {},
                 uint64_t trace_id = 0) {
    zb_frame_t frame = frameOf(ZB_FRAME_DATA, writeId());
    frame.flags = flags;
    frame.payload = payload;
    frame.payload_length = payload != nullptr ? length : 0;
    frame.reserved = static_cast<int32_t>(frame.payload_length) + out_.padding();
    frame.budget_id = out_.budgetId();
    frame.trace_id = trace_id;
    setExtension(frame, ext);
    out_.consume(frame.reserved);
    return host_.send(frame);
  }

  int32_t doFlush(const Extension& ext = {}, int32_t reserved = 0) {
    zb_frame_t frame = frameOf(ZB_FRAME_FLUSH, writeId());
    frame.reserved = reserved;
    setExtension(frame, ext);
    out_.consume(reserved);
    return host_.send(frame);
  }

  int32_t doEnd(const Extension& ext = {}) { return closeWrite(ZB_FRAME_END, ext); }
  int32_t doAbort(const Extension& ext = {}) { return closeWrite(ZB_FRAME_ABORT, ext); }

  // ---- Sending on the direction this side reads.

  // Grants credit: acknowledges what in() has consumed, with its maximum and padding.
  int32_t doWindow(uint64_t budget_id = 0, uint8_t capabilities = 0) {
    if (read_closed_) {
      return ZB_ERR_CLOSED;
    }
    zb_frame_t frame = frameOf(ZB_FRAME_WINDOW, readId());
    frame.acknowledge = in_.acknowledge();
    frame.maximum = in_.maximum();
    frame.padding = in_.padding();
    frame.budget_id = budget_id;
    frame.capabilities = capabilities;
    return host_.send(frame);
  }

  int32_t doReset(const Extension& ext = {}) {
    if (read_closed_) {
      return ZB_ERR_CLOSED;
    }
    read_closed_ = true;
    zb_frame_t frame = frameOf(ZB_FRAME_RESET, readId());
    setExtension(frame, ext);
    return host_.send(frame);
  }

  // Closes whatever is still open: ABORT the direction written, RESET the one read.
  void doCloseAll(const Extension& abort_ext = {}, const Extension& reset_ext = {}) {
    if (!write_closed_ && (write_opened_ || !initiator_)) {
      doAbort(abort_ext);
    }
    doReset(reset_ext);
  }

  // ---- Receiving. Binding glue calls dispatch(); subclasses override the on* they need.

  void dispatch(const zb_frame_t& frame) {
    switch (frame.type) {
      case ZB_FRAME_BEGIN:
        read_opened_ = true;
        onBegin(frame);
        break;
      case ZB_FRAME_DATA:
        if (!in_.onData(frame)) {
          host_.log(ZB_LOG_WARN, "stream: DATA beyond the granted window; resetting");
          doCloseAll();
          return;
        }
        onData(frame);
        break;
      case ZB_FRAME_FLUSH:
        in_.onData(frame);
        onFlush(frame);
        break;
      case ZB_FRAME_END:
        read_closed_ = true;
        onEnd(frame);
        break;
      case ZB_FRAME_ABORT:
        read_closed_ = true;
        onAbort(frame);
        break;
      case ZB_FRAME_WINDOW:
        out_.onWindow(frame);
        onWindow(frame);
        break;
      case ZB_FRAME_RESET:
        write_closed_ = true;
        onReset(frame);
        break;
      case ZB_FRAME_CHALLENGE:
        onChallenge(frame);
        break;
      default:
        break;
    }
  }

  // The host released the handle (both directions closed).
  virtual void onRelease() { delete this; }
  // A hook of this stream threw; the SDK logs, then calls this. By default: close both ways.
  virtual void onFailure() { doCloseAll(); }

 protected:
  virtual void onBegin(const zb_frame_t&) {}
  virtual void onData(const zb_frame_t&) {}
  virtual void onFlush(const zb_frame_t&) {}
  virtual void onEnd(const zb_frame_t&) {}
  virtual void onAbort(const zb_frame_t&) {}
  virtual void onWindow(const zb_frame_t&) {}
  virtual void onReset(const zb_frame_t&) {}
  virtual void onChallenge(const zb_frame_t&) {}

  const Host& host() const { return host_; }

  zb_frame_t frameOf(zb_frame_type type, uint64_t stream_id) const {
    zb_frame_t frame = makeFrame(type);
    frame.origin_id = origin_id_;
    frame.routed_id = routed_id_;
    frame.stream_id = stream_id;
    const bool writes = stream_id == writeId();
    frame.sequence = writes ? out_.sequence() : in_.sequence();
    frame.acknowledge = writes ? out_.acknowledge() : in_.acknowledge();
    frame.maximum = writes ? out_.maximum() : in_.maximum();
    return frame;
  }

 private:
  int32_t closeWrite(zb_frame_type type, const Extension& ext) {
    if (write_closed_) {
      return ZB_ERR_CLOSED;
    }
    write_closed_ = true;
    zb_frame_t frame = frameOf(type, writeId());
    setExtension(frame, ext);
    return host_.send(frame);
  }

  Host host_;
  uint64_t origin_id_;
  uint64_t routed_id_;
  uint64_t initial_id_;
  bool initiator_;
  bool write_opened_ = false;
  bool write_closed_ = false;
  bool read_opened_ = false;
  bool read_closed_ = false;
  SendWindow out_;
  ReceiveWindow in_;
};

// One declared binding.
class Binding {
 public:
  explicit Binding(const Host& host) : host_(host) {}
  virtual ~Binding() = default;
  Binding(const Binding&) = delete;
  Binding& operator=(const Binding&) = delete;

  // Every declared binding exists: open the streams this binding initiates.
  virtual void onStart() {}
  // The host is stopping: initiate nothing new; finish or abort what is in flight.
  virtual void onStop() {}
  // A stream routed to this binding opens; return nullptr to refuse it.
  virtual Stream* onStreamNew(const zb_frame_t& /*begin*/) { return nullptr; }
  // A timer or a post (see Host::signalAt, Host::post).
  virtual void onSignal(const zb_frame_t& /*signal*/) {}

  const Host& host() const { return host_; }

 private:
  Host host_;
};

// The factory a binding type provides to ZB_BINDING_EXPORT. Returns nullptr with `error` set to
// refuse the config.
using BindingFactory = std::unique_ptr<Binding> (*)(const Host& host,
                                                    const zb_binding_config_t& config,
                                                    std::string& error);

namespace detail {

inline void copyError(char* error, size_t capacity, std::string_view text) {
  if (error == nullptr || capacity == 0) {
    return;
  }
  const size_t n = std::min(capacity - 1, text.size());
  std::memcpy(error, text.data(), n);
  error[n] = '\0';
}

inline Binding* toBinding(zb_binding_t* binding) { return reinterpret_cast<Binding*>(binding); }

inline void logException(const Host& host, const char* hook) {
  try {
    throw;
  } catch (const std::exception& e) {
    host.logf(ZB_LOG_ERROR, "%s: uncaught exception: %s", hook, e.what());
  } catch (...) {
    host.logf(ZB_LOG_ERROR, "%s: uncaught exception", hook);
  }
}

// The ABI glue for one binding type; each hook is noexcept and catches everything.
template <const char* const* TypeName, const char* const* Schema, BindingFactory Factory>
struct Exports {
  static inline const zb_host_api_t* host_api = nullptr;

  static zb_binding_t* bindingNew(zb_host_binding_t* host_binding,
                                  const zb_binding_config_t* config, char* error,
                                  size_t capacity) noexcept {
    const Host host(host_api, host_binding);
    try {
      std::string reason;
      std::unique_ptr<Binding> binding = Factory(host, *config, reason);
      if (!binding) {
        copyError(error, capacity, reason.empty() ? "binding refused its config" : reason);
        return nullptr;
      }
      return reinterpret_cast<zb_binding_t*>(binding.release());
    } catch (const std::exception& e) {
      copyError(error, capacity, e.what());
    } catch (...) {
      copyError(error, capacity, "unknown exception while creating the binding");
    }
    return nullptr;
  }

  static void bindingStart(zb_binding_t* binding) noexcept {
    Binding* self = toBinding(binding);
    try {
      self->onStart();
    } catch (...) {
      logException(self->host(), "on_binding_start");
    }
  }

  static void bindingStop(zb_binding_t* binding) noexcept {
    Binding* self = toBinding(binding);
    try {
      self->onStop();
    } catch (...) {
      logException(self->host(), "on_binding_stop");
    }
  }

  static void bindingDestroy(zb_binding_t* binding) noexcept {
    Binding* self = toBinding(binding);
    try {
      delete self;
    } catch (...) {
    }
  }

  static zb_stream_t* streamNew(zb_binding_t* binding, const zb_frame_t* begin) noexcept {
    Binding* self = toBinding(binding);
    try {
      Stream* stream = self->onStreamNew(*begin);
      return stream != nullptr ? stream->handle() : nullptr;
    } catch (...) {
      logException(self->host(), "on_stream_new");
    }
    return nullptr;
  }

  static void frame(zb_binding_t* binding, zb_stream_t* handle, const zb_frame_t* frame) noexcept {
    Stream* stream = Stream::from(handle);
    try {
      stream->dispatch(*frame);
    } catch (...) {
      logException(toBinding(binding)->host(), "on_frame");
      try {
        stream->onFailure();
      } catch (...) {
      }
    }
  }

  static void streamRelease(zb_binding_t* binding, zb_stream_t* handle) noexcept {
    try {
      Stream::from(handle)->onRelease();
    } catch (...) {
      logException(toBinding(binding)->host(), "on_stream_release");
    }
  }

  static void signal(zb_binding_t* binding, const zb_frame_t* signal) noexcept {
    Binding* self = toBinding(binding);
    try {
      self->onSignal(*signal);
    } catch (...) {
      logException(self->host(), "on_signal");
    }
  }

  static const zb_binding_api_t* init(const zb_host_api_t* host, char* error,
                                      size_t capacity) noexcept {
    if (host == nullptr || host->abi_major != ZB_ABI_MAJOR) {
      copyError(error, capacity, "host ABI major differs from the binding's");
      return nullptr;
    }
    host_api = host;
    static const zb_binding_api_t api = {
        ZB_ABI_MAJOR,  ZB_ABI_MINOR, sizeof(zb_binding_api_t), *TypeName,  *Schema, &bindingNew,
        &bindingStart, &bindingStop, &bindingDestroy,          &streamNew, &frame,  &streamRelease,
        &signal,       nullptr,
    };
    return &api;
  }
};

}  // namespace detail
}  // namespace zb::sdk

// Exports the init function of a binding type. `type_name` and `schema` are const char*
// variables with static storage; `factory` is a zb::sdk::BindingFactory.
#define ZB_BINDING_EXPORT(type_name, schema, factory)                                        \
  extern "C" __attribute__((visibility("default"))) const zb_binding_api_t* zb_binding_init( \
      const zb_host_api_t* host, char* error, size_t error_capacity) {                       \
    return ::zb::sdk::detail::Exports<&type_name, &schema, factory>::init(host, error,       \
                                                                          error_capacity);   \
  }
