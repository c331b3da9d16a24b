#include "call_harness.h"

#include "echo.pb.h"

#include <doctest/doctest.h>

#include <mutex>

namespace zb::grpc_test {
namespace {

// The caller binding: it only initiates streams, which the tests open through its host.
class CallerBinding : public sdk::Binding {
 public:
  using Binding::Binding;
};

CallerBinding* created_caller = nullptr;

const char* const kCallerType = "caller";
const char* const kCallerSchema = "{}";
std::unique_ptr<sdk::Binding> makeCaller(const sdk::Host& host, const zb_binding_config_t&,
                                         std::string&) {
  auto made = std::make_unique<CallerBinding>(host);
  created_caller = made.get();
  return made;
}
using CallerExports = sdk::detail::Exports<&kCallerType, &kCallerSchema, &makeCaller>;

std::string textOf(const flatbuffers::Vector<uint8_t>* bytes) {
  return std::string(sdk::bytesOf(bytes));
}

}  // namespace

std::shared_ptr<runtime::Plugin> grpcPlugin(std::string& error) {
  static std::mutex mutex;
  static std::shared_ptr<runtime::Plugin> plugin;
  static std::string load_error;
  std::lock_guard<std::mutex> lock(mutex);
  if (!plugin && load_error.empty()) {
    plugin = runtime::Plugin::load(ZB_BINDINGS_DIR "/libbinding-grpc.so",
                                   runtime::Engine::hostApi(), load_error);
  }
  error = load_error;
  return plugin;
}

// ---- CallerStream

CallerStream::CallerStream(const sdk::Host& host, uint64_t origin, uint64_t routed,
                           CallRecord& record, int32_t reply_window, uint32_t grpc_type)
    : sdk::Stream(host, origin, routed),
      record_(record),
      reply_window_(reply_window),
      grpc_type_(grpc_type) {}

int32_t CallerStream::open(const CallSpec& spec) {
  auto& fbb = writer_.start();
  std::vector<flatbuffers::Offset<zb::grpc::Metadata>> entries;
  for (const MetadataEntry& entry : spec.metadata) {
    entries.push_back(zb::grpc::CreateMetadata(
        fbb, entry.binary ? zb::grpc::MetadataType::BASE64 : zb::grpc::MetadataType::TEXT,
        sdk::bytesIn(fbb, entry.name), sdk::bytesIn(fbb, entry.value)));
  }
  const auto begin =
      zb::grpc::CreateBeginEx(fbb, fbb.CreateString(spec.scheme), fbb.CreateString(spec.authority),
                              fbb.CreateString(spec.service), fbb.CreateString(spec.method),
                              fbb.CreateVector(entries), spec.deadline_ms);
  return doBegin(writer_.finishGrpc(
      zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::BeginEx, begin.Union()), grpc_type_));
}

void CallerStream::send(std::string message) {
  queue_.push_back(std::move(message));
  pump();
}

void CallerStream::finish() {
  end_wanted_ = true;
  pump();
}

void CallerStream::holdReply(bool hold) {
  hold_ = hold;
  if (!hold && !readClosed() && in().consumeAll()) {
    doWindow();
  }
}

void CallerStream::pump() {
  if (pumping_ || writeClosed()) {
    return;
  }
  pumping_ = true;
  while (!queue_.empty() && out().opened()) {
    const std::string& message = queue_.front();
    const size_t remaining = message.size() - offset_;
    const int64_t length = out().sendable(static_cast<int64_t>(remaining));
    if ((length == 0 && remaining > 0) || !out().canSend(length)) {
      break;
    }
    const size_t at = offset_;
    offset_ += static_cast<size_t>(length);
    const bool last = offset_ == message.size();
    sdk::Extension ext;
    if (at == 0) {
      auto& fbb = writer_.start();
      const auto data = zb::grpc::CreateDataEx(fbb, static_cast<int32_t>(remaining - length));
      ext = writer_.finishGrpc(
          zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::DataEx, data.Union()), grpc_type_);
    }
    const std::string fragment = message.substr(at, static_cast<size_t>(length));
    if (last) {
      queue_.pop_front();
      offset_ = 0;
    }
    doData((at == 0 ? ZB_DATA_INIT : 0) | (last ? ZB_DATA_FIN : 0),
           reinterpret_cast<const uint8_t*>(fragment.data()), fragment.size(), ext);
    if (writeClosed()) {
      break;
    }
  }
  if (queue_.empty() && end_wanted_ && !writeClosed()) {
    doEnd();
  }
  pumping_ = false;
}

void CallerStream::onBegin(const zb_frame_t& frame) {
  record_.reply_begun = true;
  record_.events.push_back("begin");
  const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, grpc_type_);
  const zb::grpc::BeginEx* begin = ext != nullptr ? ext->ex_as_BeginEx() : nullptr;
  if (begin != nullptr && begin->metadata() != nullptr) {
    for (const zb::grpc::Metadata* entry : *begin->metadata()) {
      record_.metadata.push_back(MetadataEntry{entry->type() == zb::grpc::MetadataType::BASE64,
                                               textOf(entry->name()), textOf(entry->value())});
    }
  }
  in().setMaximum(reply_window_);
  doWindow();
}

void CallerStream::onData(const zb_frame_t& frame) {
  record_.events.push_back("data");
  ++record_.fragments;
  record_.largest_fragment = std::max(record_.largest_fragment, frame.payload_length);
  if ((frame.flags & ZB_DATA_INIT) != 0) {
    assembling_.clear();
    const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, grpc_type_);
    const zb::grpc::DataEx* data = ext != nullptr ? ext->ex_as_DataEx() : nullptr;
    record_.deferred.push_back(data != nullptr ? data->deferred() : -1);
  }
  if (frame.payload != nullptr) {
    assembling_.append(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
  }
  if ((frame.flags & ZB_DATA_FIN) != 0) {
    record_.messages.push_back(assembling_);
  }
  if (!hold_ && in().consumeAll()) {
    doWindow();
  }
}

void CallerStream::readStatus(const zb_frame_t& frame) {
  const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, grpc_type_);
  const zb::grpc::StatusEx* status = ext != nullptr ? ext->ex_as_StatusEx() : nullptr;
  if (status != nullptr) {
    record_.status = status->status();
    record_.message = std::string(sdk::textOf(status->message()));
  }
}

void CallerStream::onEnd(const zb_frame_t&) {
  record_.ended = true;
  record_.events.push_back("end");
}

void CallerStream::onAbort(const zb_frame_t& frame) {
  record_.aborted = true;
  record_.events.push_back("abort");
  readStatus(frame);
}

void CallerStream::onWindow(const zb_frame_t& frame) {
  ++record_.windows;
  record_.events.push_back("window");
  record_.acknowledged = frame.acknowledge;
  record_.request_maximum = frame.maximum;
  pump();
}

void CallerStream::onReset(const zb_frame_t& frame) {
  record_.reset = true;
  record_.events.push_back("reset");
  readStatus(frame);
}

void CallerStream::onRelease() {
  // The harness owns the stream: a refusal can release it before open() returns, and the test
  // may still call send() or finish() on it (they do nothing once the stream is closed).
  record_.released = true;
}

// ---- Harness

Harness::Harness(const std::string& options_json, const std::string& routes_json,
                 runtime::MetricSink* metrics)
    : engine_(log_, metrics) {
  std::shared_ptr<runtime::Plugin> plugin = grpcPlugin(error_);
  REQUIRE_MESSAGE(plugin, error_);
  REQUIRE(engine_.addType(plugin, error_));
  char reason[256];
  REQUIRE(engine_.addType(CallerExports::init(runtime::Engine::hostApi(), reason, sizeof reason),
                          error_));
  runtime::BindingDeclaration grpc{"test", "grpc0", "grpc", "client"};
  grpc.options_json = options_json;
  grpc.routes_json = routes_json;
  grpc_id_ = engine_.declare(grpc, error_);
  caller_id_ = engine_.declare({"test", "caller0", "caller", "client"}, error_);
  REQUIRE(grpc_id_ != 0);
  REQUIRE(caller_id_ != 0);
  created_caller = nullptr;
  created_ = engine_.create(error_);
  if (created_) {
    engine_.start();
  }
}

Harness::~Harness() {
  engine_.shutdown();
  streams_.clear();
}

const sdk::Host& Harness::callerHost() const { return created_caller->host(); }

CallerStream* Harness::call(const CallSpec& spec, CallRecord& record, int32_t reply_window) {
  const sdk::Host& host = callerHost();
  streams_.push_back(std::make_unique<CallerStream>(host, caller_id_, grpc_id_, record,
                                                    reply_window, host.typeId("grpc")));
  CallerStream* stream = streams_.back().get();
  const int32_t result = stream->open(spec);
  REQUIRE(result == ZB_OK);
  return stream;
}

bool Harness::runUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  return engine_.runUntil(done, timeout_ms * 1'000'000);
}

std::string echoRequest(const std::string& message) {
  ::grpc::examples::echo::EchoRequest request;
  request.set_message(message);
  return request.SerializeAsString();
}

std::string echoResponse(const std::string& bytes) {
  ::grpc::examples::echo::EchoResponse response;
  if (!response.ParseFromString(bytes)) {
    return "<unparsable>";
  }
  return response.message();
}

}  // namespace zb::grpc_test
