// The engine's own promises: routing by stream id, refusals, deferred releases, timers, posts
// from other threads.
#include <zb/runtime/engine.h>
#include <zb/sdk/binding.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using zb::runtime::Engine;

struct Probe;
Probe* probe = nullptr;

// Records what reaches it; accepts streams unless told to refuse.
struct Probe {
  std::vector<std::string> events;
  bool refuse = false;
  bool answer_end = true;
  bool in_hook = false;
  bool released_inside_hook = false;
  std::vector<int32_t> signals;
  std::vector<std::string> payloads;
};

class ProbeStream : public zb::sdk::Stream {
 public:
  using Stream::Stream;

 protected:
  void onBegin(const zb_frame_t&) override {
    probe->events.push_back(initiator() ? "initiator:begin" : "acceptor:begin");
    if (!initiator()) {
      doBegin();
    }
  }
  void onEnd(const zb_frame_t&) override {
    probe->events.push_back(initiator() ? "initiator:end" : "acceptor:end");
    if (!initiator() && probe->answer_end) {
      probe->in_hook = true;
      doEnd();  // closes the last direction: release must wait until this hook returns
      probe->in_hook = false;
    }
  }
  void onRelease() override {
    if (probe->in_hook) {
      probe->released_inside_hook = true;
    }
    probe->events.push_back(initiator() ? "initiator:release" : "acceptor:release");
    delete this;
  }
};

class ProbeBinding : public zb::sdk::Binding {
 public:
  using Binding::Binding;
  zb::sdk::Stream* onStreamNew(const zb_frame_t& begin) override {
    return probe->refuse ? nullptr : new ProbeStream(host(), begin);
  }
  void onSignal(const zb_frame_t& signal) override {
    probe->signals.push_back(signal.signal_id);
    probe->payloads.emplace_back(
        signal.payload != nullptr
            ? std::string(reinterpret_cast<const char*>(signal.payload), signal.payload_length)
            : std::string("<null>"));
  }
};
ProbeBinding* binding = nullptr;

const char* const kProbeType = "probe";
const char* const kProbeSchema = "{}";
std::unique_ptr<zb::sdk::Binding> makeProbe(const zb::sdk::Host& host, const zb_binding_config_t&,
                                            std::string&) {
  auto made = std::make_unique<ProbeBinding>(host);
  binding = made.get();
  return made;
}
using ProbeExports = zb::sdk::detail::Exports<&kProbeType, &kProbeSchema, &makeProbe>;

struct EngineFixture {
  zb::runtime::StderrLog log{ZB_LOG_ERROR};
  Engine engine{log};
  Probe state;
  uint64_t id = 0;

  EngineFixture() {
    probe = &state;
    std::string error;
    char reason[128];
    REQUIRE(engine.addType(ProbeExports::init(Engine::hostApi(), reason, sizeof reason), error));
    id = engine.declare({"test", "probe0", "probe", "server"}, error);
    REQUIRE(id != 0);
    REQUIRE(engine.create(error));
    engine.start();
  }
};

}  // namespace

TEST_CASE("a stream routes both ways and is released on both sides only after the hook returns") {
  EngineFixture f;
  auto* stream = new ProbeStream(binding->host(), f.id, f.id);  // to itself
  REQUIRE(stream->doBegin() == ZB_OK);
  CHECK(f.engine.openStreams() == 1);
  REQUIRE(stream->doEnd() == ZB_OK);
  CHECK(f.engine.openStreams() == 0);
  CHECK_FALSE(f.state.released_inside_hook);
  CHECK(f.state.events == std::vector<std::string>{"acceptor:begin", "initiator:begin",
                                                   "acceptor:end", "initiator:end",
                                                   "initiator:release", "acceptor:release"});
}

TEST_CASE("refused streams, unknown routes, unknown streams and closed directions") {
  EngineFixture f;
  f.state.refuse = true;
  auto* refused = new ProbeStream(binding->host(), f.id, f.id);
  CHECK(refused->doBegin() == ZB_ERR_REFUSED);
  delete refused;
  CHECK(f.engine.openStreams() == 0);

  auto* lost = new ProbeStream(binding->host(), f.id, 999);
  CHECK(lost->doBegin() == ZB_ERR_NO_ROUTE);
  delete lost;

  zb_frame_t stray = zb::sdk::makeFrame(ZB_FRAME_DATA);
  stray.stream_id = 12345;
  CHECK(binding->host().send(stray) == ZB_ERR_UNKNOWN_STREAM);

  f.state.refuse = false;
  f.state.answer_end = false;
  auto* stream = new ProbeStream(binding->host(), f.id, f.id);
  REQUIRE(stream->doBegin() == ZB_OK);
  zb_frame_t end = zb::sdk::makeFrame(ZB_FRAME_END);
  end.stream_id = stream->initialId();
  CHECK(binding->host().send(end) == ZB_OK);
  CHECK(binding->host().send(end) == ZB_ERR_CLOSED);  // the direction is already closed
  zb_frame_t window = zb::sdk::makeFrame(ZB_FRAME_WINDOW);
  window.stream_id = stream->replyId();
  window.maximum = 8192;
  window.padding = -56;  // would let the writer's sequence move backwards
  CHECK(binding->host().send(window) == ZB_ERR_INVALID);
  window.padding = 0;
  window.maximum = -1;
  CHECK(binding->host().send(window) == ZB_ERR_INVALID);
  CHECK(f.engine.openStreams() == 1);  // the reply direction is still open
  f.engine.shutdown();                 // releases both sides of what is still open
  CHECK(f.state.events.back() == "acceptor:release");
}

TEST_CASE("timers fire in deadline order and cancelled ones never fire") {
  EngineFixture f;
  const zb::sdk::Host& host = binding->host();
  const int64_t now = host.nowNs();
  host.signalAt(now + 3'000'000, 0, 3);
  const uint64_t cancelled = host.signalAt(now + 1'000'000, 0, 99);
  host.signalAt(now + 2'000'000, 0, 2);
  host.signalAt(now, 0, 1);
  host.signalCancel(cancelled);
  host.signalCancel(cancelled);  // twice is harmless
  CHECK(f.engine.runUntil([&] { return f.state.signals.size() >= 3; }, 2'000'000'000));
  CHECK(f.state.signals == std::vector<int32_t>{1, 2, 3});
}

TEST_CASE("posts from another thread arrive on the engine thread, in order, with payloads") {
  EngineFixture f;
  const zb::sdk::Host host = binding->host();
  std::thread poster([host] {
    for (int i = 0; i < 100; ++i) {
      const std::string text = "post-" + std::to_string(i);
      host.post(0, i, text.data(), text.size());
    }
    host.post(0, 100);  // no payload
  });
  CHECK(f.engine.runUntil([&] { return f.state.signals.size() == 101; }, 5'000'000'000));
  poster.join();
  REQUIRE(f.state.signals.size() == 101);
  for (int i = 0; i < 100; ++i) {
    CHECK(f.state.signals[i] == i);
    CHECK(f.state.payloads[i] == "post-" + std::to_string(i));
  }
  CHECK(f.state.payloads[100] == "<null>");
}

TEST_CASE("requestStop from another thread ends run() and posts are refused afterwards") {
  EngineFixture f;
  const zb::sdk::Host host = binding->host();
  std::atomic<bool> ran{false};
  std::thread stopper([&] {
    host.post(0, 7);
    f.engine.requestStop();
    ran = true;
  });
  f.engine.run(1'000'000'000);
  stopper.join();
  CHECK(ran);
  CHECK(host.post(0, 8) == ZB_ERR_CLOSED);
}
