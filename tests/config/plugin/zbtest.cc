// The "zbtest" binding type, for the host's tests: a small published schema, and behaviour
// switched by options (refuse creation, hold a stream open through the drain, log a secret,
// register one metric of each kind).
#include <zb/sdk/binding.hpp>

#include <json/json.h>

#include <memory>
#include <vector>

namespace zbtest {

const char* const kTypeName = "zbtest";
const char* const kSchema = R"json({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "type": { "const": "zbtest" },
    "kind": { "enum": ["server", "client"] },
    "entry": { "type": "string" },
    "exit": { "type": "string" },
    "options": {
      "type": "object",
      "properties": {
        "acks": { "type": "string", "enum": ["none", "leader_only", "in_sync_replicas"] },
        "topic": { "type": "string" },
        "refuse": { "type": "boolean" },
        "hold_stream": { "type": "boolean" },
        "password": { "type": "string" },
        "port": { "type": "integer", "minimum": 1, "maximum": 65535 }
      },
      "additionalProperties": false
    },
    "routes": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "exit": { "type": "string" },
          "when": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": { "topic": { "type": "string" } },
              "required": ["topic"],
              "additionalProperties": false
            }
          }
        },
        "required": ["when"]
      }
    },
    "telemetry": { "type": "object" }
  },
  "required": ["type", "kind"],
  "additionalProperties": false
})json";

// A stream nobody closes, owned by its binding (never released before the binding goes).
class HeldStream : public zb::sdk::Stream {
 public:
  using zb::sdk::Stream::Stream;
  void onRelease() override { released = true; }
  bool released = false;
};

class TestBinding : public zb::sdk::Binding {
 public:
  TestBinding(const zb::sdk::Host& host, uint64_t id, Json::Value options)
      : zb::sdk::Binding(host), id_(id), options_(std::move(options)) {}

  ~TestBinding() override = default;

  void onStart() override {
    const uint32_t started = host().metric(ZB_METRIC_COUNTER, "zbtest.started", "tenant=\"a\"");
    const uint32_t level = host().metric(ZB_METRIC_GAUGE, "zbtest.level", nullptr);
    const uint32_t sizes = host().metric(ZB_METRIC_HISTOGRAM, "zbtest.sizes", nullptr);
    host().record(started, 1);
    host().record(level, 5);
    host().record(level, -2);
    host().record(sizes, 3);
    host().record(sizes, 100);
    if (options_.isMember("password")) {
      host().logf(ZB_LOG_INFO, "connecting with password %s", options_["password"].asCString());
    }
    host().log(ZB_LOG_INFO, "zbtest started");
    if (options_["hold_stream"].asBool()) {
      auto stream = std::make_unique<HeldStream>(host(), id_, id_);
      if (stream->doBegin() == ZB_OK) {
        streams_.push_back(std::move(stream));
      }
    }
  }

  void onStop() override { host().log(ZB_LOG_INFO, "zbtest stopping"); }

  zb::sdk::Stream* onStreamNew(const zb_frame_t& begin) override {
    auto stream = std::make_unique<HeldStream>(host(), begin);
    zb::sdk::Stream* raw = stream.get();
    streams_.push_back(std::move(stream));
    return raw;
  }

 private:
  uint64_t id_;
  Json::Value options_;
  std::vector<std::unique_ptr<HeldStream>> streams_;
};

std::unique_ptr<zb::sdk::Binding> create(const zb::sdk::Host& host,
                                         const zb_binding_config_t& config, std::string& error) {
  Json::Value options;
  Json::CharReaderBuilder builder;
  const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  const std::string text = config.options_json;
  if (!reader->parse(text.data(), text.data() + text.size(), &options, nullptr)) {
    error = "options are not JSON";
    return nullptr;
  }
  if (options["refuse"].asBool()) {
    error = "refused: options.refuse is true";
    return nullptr;
  }
  return std::make_unique<TestBinding>(host, config.id, std::move(options));
}

}  // namespace zbtest

ZB_BINDING_EXPORT(zbtest::kTypeName, zbtest::kSchema, zbtest::create)
