// Engine::replace, the frame-level side of a reload: a replaced or removed binding stops taking
// work, keeps its streams until they close (or its drain time is up, when they are closed for
// it), and is destroyed; bindings left out are untouched; a refused new config changes nothing.
#include <zb/runtime/engine.h>
#include <zb/sdk/binding.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using zb::runtime::BindingDeclaration;
using zb::runtime::Engine;

// What every instance did, as "<tag>:<event>", in order. Engine thread only.
std::vector<std::string> events;

bool happened(const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

class NodeBinding;
std::vector<NodeBinding*> live;  // every instance not yet destroyed, oldest first

// A stream that stays open until its initiator ENDs it; both sides note how it closed.
class NodeStream : public zb::sdk::Stream {
 public:
  NodeStream(NodeBinding& owner, const zb_frame_t& begin);
  NodeStream(NodeBinding& owner, uint64_t origin_id, uint64_t routed_id);

 protected:
  void onBegin(const zb_frame_t&) override {
    if (!initiator()) {
      doBegin();
    }
  }
  void onEnd(const zb_frame_t&) override {
    note("end");
    if (!initiator()) {
      doEnd();
    }
  }
  void onAbort(const zb_frame_t&) override { note("abort"); }
  void onReset(const zb_frame_t&) override { note("reset"); }
  void onRelease() override;

 private:
  void note(const std::string& what);
  NodeBinding& owner_;
};

// One declared "node": its options are {"tag": "...", "refuse": bool, "open": bool}. An open
// node opens a stream to its exit when it starts.
class NodeBinding : public zb::sdk::Binding {
 public:
  NodeBinding(const zb::sdk::Host& host, std::string tag, uint64_t id, uint64_t exit_id, bool open)
      : Binding(host), tag_(std::move(tag)), id_(id), exit_id_(exit_id), open_(open) {
    events.push_back(tag_ + ":new");
  }
  ~NodeBinding() override;

  void onStart() override {
    events.push_back(tag_ + ":start");
    if (open_ && exit_id_ != 0) {
      outgoing = new NodeStream(*this, id_, exit_id_);
      if (outgoing->doBegin() != ZB_OK) {
        delete outgoing;
        outgoing = nullptr;
      }
    }
  }
  void onStop() override { events.push_back(tag_ + ":stop"); }
  zb::sdk::Stream* onStreamNew(const zb_frame_t& begin) override {
    events.push_back(tag_ + ":accept");
    return new NodeStream(*this, begin);
  }
  void onSignal(const zb_frame_t&) override {}

  const std::string& tag() const { return tag_; }
  NodeStream* outgoing = nullptr;

 private:
  std::string tag_;
  uint64_t id_;
  uint64_t exit_id_;
  bool open_;
};

NodeBinding::~NodeBinding() {
  events.push_back(tag_ + ":destroy");
  live.erase(std::remove(live.begin(), live.end(), this), live.end());
}

NodeStream::NodeStream(NodeBinding& owner, const zb_frame_t& begin)
    : Stream(owner.host(), begin), owner_(owner) {}
NodeStream::NodeStream(NodeBinding& owner, uint64_t origin_id, uint64_t routed_id)
    : Stream(owner.host(), origin_id, routed_id), owner_(owner) {}
void NodeStream::note(const std::string& what) { events.push_back(owner_.tag() + ":" + what); }
void NodeStream::onRelease() {
  note("release");
  if (owner_.outgoing == this) {
    owner_.outgoing = nullptr;
  }
  delete this;
}

std::string optionText(const std::string& json, const std::string& name) {
  const size_t at = json.find("\"" + name + "\":\"");
  if (at == std::string::npos) {
    return "";
  }
  const size_t start = at + name.size() + 4;
  return json.substr(start, json.find('"', start) - start);
}

std::unique_ptr<zb::sdk::Binding> makeNode(const zb::sdk::Host& host,
                                           const zb_binding_config_t& config, std::string& error) {
  const std::string options = config.options_json;
  if (options.find("\"refuse\":true") != std::string::npos) {
    error = "refused on purpose";
    return nullptr;
  }
  auto node =
      std::make_unique<NodeBinding>(host, optionText(options, "tag"), config.id, config.exit_id,
                                    options.find("\"open\":true") != std::string::npos);
  live.push_back(node.get());
  return node;
}

const char* const kNodeType = "node";
const char* const kNodeSchema = "{}";
using NodeExports = zb::sdk::detail::Exports<&kNodeType, &kNodeSchema, &makeNode>;

BindingDeclaration node(const std::string& name, const std::string& options,
                        const std::string& exit = "") {
  BindingDeclaration declaration;
  declaration.namespace_name = "test";
  declaration.name = name;
  declaration.type = "node";
  declaration.kind = "server";
  declaration.exit = exit;
  declaration.options_json = options;
  return declaration;
}

NodeBinding* instance(const std::string& tag) {
  for (NodeBinding* binding : live) {
    if (binding->tag() == tag) {
      return binding;
    }
  }
  return nullptr;
}

// source -> sink, the source holding a stream open to the sink; and a bystander.
struct ReloadFixture {
  zb::runtime::StderrLog log{ZB_LOG_ERROR};
  Engine engine{log};

  ReloadFixture() {
    events.clear();
    live.clear();
    std::string error;
    char reason[128];
    REQUIRE(engine.addType(NodeExports::init(Engine::hostApi(), reason, sizeof reason), error));
    REQUIRE(engine.declare(node("sink", R"({"tag":"sink1"})"), error) != 0);
    REQUIRE(engine.declare(node("source", R"({"tag":"source1","open":true})", "sink"), error) != 0);
    REQUIRE(engine.declare(node("bystander", R"({"tag":"by1"})"), error) != 0);
    REQUIRE(engine.create(error));
    engine.start();
    REQUIRE(engine.openStreams() == 1);
    events.clear();
  }
  ~ReloadFixture() { engine.shutdown(); }
};

}  // namespace

TEST_CASE("a replaced binding drains its stream, then goes; the new one starts; others untouched") {
  ReloadFixture f;
  NodeBinding* old_source = instance("source1");
  REQUIRE(old_source != nullptr);
  std::string error;
  REQUIRE(f.engine.replace({node("source", R"({"tag":"source2","open":true})", "sink")}, {},
                           10'000'000'000, error));
  // The new instance exists and started before the old one was told to stop; both streams are
  // open.
  CHECK(events ==
        std::vector<std::string>{"source2:new", "source2:start", "sink1:accept", "source1:stop"});
  CHECK(f.engine.openStreams() == 2);
  CHECK(f.engine.retiringBindings() == 1);

  // The old instance finishes its stream: it is destroyed on the next turn, and only it.
  events.clear();
  REQUIRE(old_source->outgoing != nullptr);
  REQUIRE(old_source->outgoing->doEnd() == ZB_OK);
  CHECK(f.engine.runUntil([&] { return f.engine.retiringBindings() == 0; }, 5'000'000'000));
  CHECK(happened("source1:destroy"));
  CHECK_FALSE(happened("sink1:destroy"));
  CHECK_FALSE(happened("by1:stop"));
  CHECK(f.engine.openStreams() == 1);
  CHECK(f.engine.bindingId("source") != 0);
  REQUIRE(instance("source2") != nullptr);
  CHECK(instance("source2")->outgoing != nullptr);
}

TEST_CASE("a replaced exit: the new instances resolve each other, the old pair drains together") {
  ReloadFixture f;
  const uint64_t old_sink = f.engine.bindingId("sink");
  std::string error;
  REQUIRE(f.engine.replace({node("sink", R"({"tag":"sink2"})"),
                            node("source", R"({"tag":"source2","open":true})", "sink")},
                           {}, 10'000'000'000, error));
  CHECK(f.engine.bindingId("sink") != old_sink);
  // The new source opened its stream to the new sink, not to the old one.
  CHECK(happened("sink2:accept"));
  CHECK(std::count(events.begin(), events.end(), "sink1:accept") == 0);
  CHECK(f.engine.retiringBindings() == 2);
  NodeBinding* old_source = instance("source1");
  REQUIRE(old_source->outgoing->doEnd() == ZB_OK);
  CHECK(f.engine.runUntil([&] { return f.engine.retiringBindings() == 0; }, 5'000'000'000));
  CHECK(happened("source1:destroy"));
  CHECK(happened("sink1:destroy"));
  CHECK(f.engine.openStreams() == 1);
}

TEST_CASE("a retiring binding whose stream outlasts the drain time has it closed for it") {
  ReloadFixture f;
  std::string error;
  // The source is removed; its stream to the sink (which stays) never ends by itself.
  REQUIRE(f.engine.replace({}, {"source"}, 50'000'000, error));
  CHECK(f.engine.bindingId("source") == 0);
  CHECK(happened("source1:stop"));
  CHECK(f.engine.runUntil([&] { return f.engine.retiringBindings() == 0; }, 5'000'000'000));
  // The sink, which stays, saw the stream fail: ABORT on what the source wrote, then RESET.
  const auto at = [](const std::string& event) {
    return std::find(events.begin(), events.end(), event) - events.begin();
  };
  REQUIRE(happened("sink1:abort"));
  REQUIRE(happened("sink1:reset"));
  CHECK(at("sink1:abort") < at("sink1:reset"));
  CHECK(happened("sink1:release"));
  CHECK(happened("source1:release"));
  CHECK(happened("source1:destroy"));
  CHECK_FALSE(happened("sink1:stop"));
  CHECK(f.engine.openStreams() == 0);
}

TEST_CASE("a new instance that refuses its config changes nothing") {
  ReloadFixture f;
  const uint64_t source = f.engine.bindingId("source");
  const uint64_t sink = f.engine.bindingId("sink");
  std::string error;
  CHECK_FALSE(f.engine.replace({node("sink", R"({"tag":"sink2"})"),
                                node("source", R"({"tag":"source2","refuse":true})", "sink")},
                               {"bystander"}, 10'000'000'000, error));
  CHECK(error == "source: refused on purpose");
  CHECK(f.engine.bindingId("source") == source);
  CHECK(f.engine.bindingId("sink") == sink);
  CHECK(f.engine.bindingId("bystander") != 0);
  // The instance created before the refusal is destroyed; no running one was stopped.
  CHECK(events == std::vector<std::string>{"sink2:new", "sink2:destroy"});
  CHECK(f.engine.retiringBindings() == 0);
  CHECK(f.engine.openStreams() == 1);
}

TEST_CASE("a task posted from another thread runs on the engine thread") {
  ReloadFixture f;
  std::thread::id ran_on;
  bool ran = false;
  std::thread poster(
      [&] { CHECK(f.engine.post([&] { ran_on = std::this_thread::get_id(), ran = true; })); });
  poster.join();
  CHECK(f.engine.runUntil([&] { return ran; }, 5'000'000'000));
  CHECK(ran_on == std::this_thread::get_id());
  f.engine.shutdown();
  CHECK_FALSE(f.engine.post([] {}));
}
