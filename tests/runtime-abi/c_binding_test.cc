// A binding written in plain C (examples/c-echo, loaded as a .so through the loader) exchanging
// frames, windows and a reset with a binding written with the C++ SDK, through the engine.
#include <zb/runtime/engine.h>
#include <zb/sdk/binding.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using zb::runtime::BindingDeclaration;
using zb::runtime::Engine;
using zb::runtime::Plugin;

// What the SDK-side client does and sees; one per test.
struct ClientScript {
  std::vector<std::optional<std::string>> to_send;  // nullopt: a null payload
  int32_t reply_window = 8192;
  std::vector<std::optional<std::string>> replies;
  std::vector<int64_t> reply_sequences;
  bool reply_begun = false;
  bool reset = false;
  bool aborted = false;
  bool ended = false;
  bool released = false;
  int windows = 0;
};
ClientScript* script = nullptr;

class ClientStream : public zb::sdk::Stream {
 public:
  using Stream::Stream;

  void sendNext() {
    while (next_ < script->to_send.size()) {
      const auto& payload = script->to_send[next_];
      const size_t length = payload ? payload->size() : 0;
      if (!out().canSend(static_cast<int64_t>(length))) {
        return;
      }
      const auto* bytes = payload ? reinterpret_cast<const uint8_t*>(payload->data()) : nullptr;
      static const uint8_t kEmpty = 0;
      ++next_;  // before sending: the peer's answer may re-enter onWindow() inside doData()
      doData(ZB_DATA_COMPLETE, payload && payload->empty() ? &kEmpty : bytes, length);
    }
  }

 protected:
  void onBegin(const zb_frame_t&) override {
    script->reply_begun = true;
    in().setMaximum(script->reply_window);
    doWindow();
  }
  void onWindow(const zb_frame_t&) override {
    ++script->windows;
    sendNext();
  }
  void onData(const zb_frame_t& frame) override {
    script->replies.push_back(
        frame.payload == nullptr
            ? std::nullopt
            : std::optional<std::string>(
                  std::string(reinterpret_cast<const char*>(frame.payload), frame.payload_length)));
    script->reply_sequences.push_back(frame.sequence);
    in().consumeAll();
    doWindow();
  }
  void onEnd(const zb_frame_t&) override { script->ended = true; }
  void onAbort(const zb_frame_t&) override { script->aborted = true; }
  void onReset(const zb_frame_t&) override { script->reset = true; }
  void onRelease() override {
    script->released = true;
    delete this;
  }

 private:
  size_t next_ = 0;
};

class Client : public zb::sdk::Binding {
 public:
  Client(const zb::sdk::Host& host, uint64_t id, uint64_t exit_id)
      : Binding(host), id_(id), exit_id_(exit_id) {}
  void onStart() override {
    stream_ = new ClientStream(host(), id_, exit_id_);
    REQUIRE(stream_->doBegin() == ZB_OK);
  }
  ClientStream* stream() { return stream_; }

 private:
  uint64_t id_;
  uint64_t exit_id_;
  ClientStream* stream_ = nullptr;
};
Client* client = nullptr;

const char* const kClientType = "test-client";
const char* const kClientSchema = "{}";
std::unique_ptr<zb::sdk::Binding> makeClient(const zb::sdk::Host& host,
                                             const zb_binding_config_t& config, std::string&) {
  auto binding = std::make_unique<Client>(host, config.id, config.exit_id);
  client = binding.get();
  return binding;
}
using ClientExports = zb::sdk::detail::Exports<&kClientType, &kClientSchema, &makeClient>;

// An engine with the C echo binding loaded from its .so and the SDK client in-process.
struct EchoFixture {
  zb::runtime::StderrLog log{ZB_LOG_WARN};
  Engine engine{log};
  ClientScript state;

  EchoFixture() {
    script = &state;
    std::string error;
    auto plugin = Plugin::load(Plugin::find({ZB_BINDINGS_DIR}, "echo"), Engine::hostApi(), error);
    REQUIRE_MESSAGE(plugin != nullptr, error);
    REQUIRE(engine.addType(std::move(plugin), error));
    char reason[256];
    REQUIRE(engine.addType(ClientExports::init(Engine::hostApi(), reason, sizeof reason), error));
    REQUIRE(engine.declare({"test", "echo0", "echo", "server"}, error) != 0);
    BindingDeclaration declaration{"test", "client0", "test-client", "client"};
    declaration.exit = "echo0";
    REQUIRE(engine.declare(declaration, error) != 0);
    REQUIRE_MESSAGE(engine.create(error), error);
  }
  ~EchoFixture() { engine.shutdown(); }

  bool run(const std::function<bool()>& done) { return engine.runUntil(done, 5'000'000'000); }
};

}  // namespace

TEST_CASE("C echo binding answers an SDK client: data, then a reset closes both ways") {
  EchoFixture f;
  f.state.to_send = {std::string("hello"), std::string("reset")};
  f.engine.start();
  CHECK(f.run([&] { return f.state.released; }));
  CHECK(f.state.reply_begun);
  REQUIRE(f.state.replies.size() == 1);
  CHECK(f.state.replies[0] == std::optional<std::string>("hello"));
  CHECK(f.state.reset);
  CHECK(f.state.aborted);
  CHECK_FALSE(f.state.ended);
  CHECK(f.engine.openStreams() == 0);
}

TEST_CASE("a null payload stays null and an empty one stays empty across the ABI") {
  EchoFixture f;
  f.state.to_send = {std::nullopt, std::string(), std::string("x")};
  f.engine.start();
  CHECK(f.run([&] { return f.state.replies.size() == 3; }));
  REQUIRE(f.state.replies.size() == 3);
  CHECK_FALSE(f.state.replies[0].has_value());
  REQUIRE(f.state.replies[1].has_value());
  CHECK(f.state.replies[1]->empty());
  CHECK(f.state.replies[2] == std::optional<std::string>("x"));
}

TEST_CASE("the C binding honours the reader's window: nothing beyond the credit granted") {
  EchoFixture f;
  f.state.reply_window = 3;  // smaller than "hello"
  f.state.to_send = {std::string("hello")};
  f.engine.start();
  f.engine.poll();
  CHECK(f.state.reply_begun);
  CHECK(f.state.replies.empty());  // held back: 5 bytes do not fit a 3-byte window

  // Grant more credit: the echo goes out, and then the stream ends cleanly on END.
  client->stream()->in().setMaximum(64);
  client->stream()->doWindow();
  REQUIRE(f.state.replies.size() == 1);
  CHECK(f.state.replies[0] == std::optional<std::string>("hello"));
  client->stream()->doEnd();
  CHECK(f.run([&] { return f.state.released; }));
  CHECK(f.state.ended);
  CHECK(f.engine.openStreams() == 0);
}
