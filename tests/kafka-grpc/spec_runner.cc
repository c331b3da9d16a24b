#include "spec_runner.h"

#include "scripted_peer.h"
#include "spec_script.h"

#include <zb/runtime/config.h>
#include <zb/runtime/plugin.h>
#include <zb/runtime/zilla_config.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>

namespace zb::kafka_grpc::spec {
namespace {

namespace fs = std::filesystem;

uint32_t expectedType(const std::string& frame) {
  if (frame == "begin") return ZB_FRAME_BEGIN;
  if (frame == "data" || frame == "message") return ZB_FRAME_DATA;
  if (frame == "flush") return ZB_FRAME_FLUSH;
  if (frame == "end") return ZB_FRAME_END;
  if (frame == "abort") return ZB_FRAME_ABORT;
  if (frame == "reset") return ZB_FRAME_RESET;
  if (frame == "challenge") return ZB_FRAME_CHALLENGE;
  return 0;
}

bool flagsOf(const std::optional<std::string>& text, uint8_t& flags) {
  if (!text || *text == "complete") {
    flags = ZB_DATA_COMPLETE;
  } else if (*text == "init") {
    flags = ZB_DATA_INIT;
  } else if (*text == "fin") {
    flags = ZB_DATA_FIN;
  } else if (*text == "none") {
    flags = 0;
  } else {
    return false;
  }
  return true;
}

std::string flagsName(uint8_t flags) {
  switch (flags & ZB_DATA_COMPLETE) {
    case ZB_DATA_COMPLETE:
      return "complete";
    case ZB_DATA_INIT:
      return "init";
    case ZB_DATA_FIN:
      return "fin";
    default:
      return "none";
  }
}

const Value* option(const std::vector<Field>& options, const char* name) {
  for (const Field& f : options) {
    if (f.name == name) {
      return &f.value;
    }
  }
  return nullptr;
}

std::string payloadDifference(const std::string& want, const std::string& got) {
  size_t at = 0;
  while (at < want.size() && at < got.size() && want[at] == got[at]) {
    ++at;
  }
  return "payload differs at byte " + std::to_string(at) + ": expected " +
         std::to_string(want.size()) + " bytes " + print(Value::string(want), true) + ", got " +
         std::to_string(got.size()) + " bytes " + print(Value::string(got), true);
}

struct Scheduled {
  int32_t window = -1;
  int32_t padding = 0;
};

class Executor {
 public:
  enum class Result { kProgress, kBlocked, kDone, kFailed };

  Executor(Script script, Peer& peer, std::set<std::string>& barriers, std::function<void()> stop)
      : script_(std::move(script)), peer_(peer), barriers_(barriers), stop_(std::move(stop)) {}

  Result advance() {
    if (pc_ >= script_.steps.size()) {
      return Result::kDone;
    }
    const Step& step = script_.steps[pc_];
    Result result = Result::kBlocked;
    partial_ = false;
    switch (step.op) {
      case Step::Op::kAccept:
        result = accept(step);
        break;
      case Step::Op::kAwait:
        result = barriers_.count(step.barrier) != 0 ? Result::kProgress : Result::kBlocked;
        break;
      case Step::Op::kNotify:
        barriers_.insert(step.barrier);
        result = Result::kProgress;
        break;
      case Step::Op::kRead:
        result = read(step);
        break;
      case Step::Op::kWrite:
        result = write(step);
        break;
      case Step::Op::kExpect:
        result = expect(step);
        break;
      case Step::Op::kStop:
        stop_();
        result = Result::kProgress;
        break;
      case Step::Op::kRefuse:
        ++peer_.refuse_next;
        result = Result::kProgress;
        break;
    }
    if (result == Result::kProgress && !partial_) {
      ++pc_;
    }
    return result;
  }

  bool done() const { return pc_ >= script_.steps.size(); }
  const std::string& failure() const { return failure_; }

  std::string state() const {
    std::string out = fs::path(script_.path).filename().string() + ": ";
    if (done()) {
      out += "complete\n";
    } else {
      const Step& step = script_.steps[pc_];
      out += "waiting at line " + std::to_string(step.line) + ": " + step.text + "\n";
    }
    for (const auto& [alias, stream] : streams_) {
      out += "  " + alias + ": credit " + std::to_string(stream->credit()) + ", " +
             std::to_string(stream->queue.size()) + " frame(s) unread" +
             (stream->released ? ", released" : "") + "\n";
      for (const ReceivedFrame& frame : stream->queue) {
        out += "    " + frame.describe() + "\n";
      }
    }
    return out;
  }

  // Checks at the end: every frame read, no protocol violation.
  std::string leftovers() const {
    std::string out;
    for (const auto& [alias, stream] : streams_) {
      for (const ReceivedFrame& frame : stream->queue) {
        out += fs::path(script_.path).filename().string() + ": " + alias + ": unexpected frame " +
               frame.describe() + "\n";
      }
      for (const std::string& violation : stream->violations) {
        out += fs::path(script_.path).filename().string() + ": " + alias +
               ": flow control: " + violation + "\n";
      }
    }
    return out;
  }

 private:
  Result fail(const Step& step, const std::string& what) {
    failure_ = script_.path + ":" + std::to_string(step.line) + ": " + step.text + "\n" + what;
    return Result::kFailed;
  }

  PeerStream* streamOf(const Step& step) {
    auto it = streams_.find(step.stream);
    return it != streams_.end() ? it->second : nullptr;
  }

  Result accept(const Step& step) {
    if (peer_.unaccepted.empty()) {
      return Result::kBlocked;
    }
    PeerStream* stream = peer_.unaccepted.front();
    peer_.unaccepted.pop_front();
    stream->alias = step.stream;
    streams_[step.stream] = stream;
    Scheduled& grant = grants_[step.stream];
    if (const Value* w = option(step.options, "window")) {
      grant.window = static_cast<int32_t>(w->number);
    }
    if (const Value* p = option(step.options, "padding")) {
      grant.padding = static_cast<int32_t>(p->number);
    }
    if (const Value* a = option(step.options, "ack")) {
      stream->manual_ack = a->text == "manual";
    }
    return Result::kProgress;
  }

  // "expect unaccepted=N": streams opened to this peer that no script accepted yet.
  // "expect ALIAS credit=N": the credit the binding grants this peer on that stream now.
  Result expect(const Step& step) {
    for (const Field& f : step.options) {
      int64_t actual = 0;
      if (f.name == "unaccepted") {
        actual = int64_t(peer_.unaccepted.size());
      } else if (f.name == "credit") {
        PeerStream* stream = streamOf(step);
        if (stream == nullptr) {
          return fail(step, "no accepted stream named " + step.stream);
        }
        actual = stream->credit();
      } else {
        return fail(step, "cannot expect " + f.name);
      }
      if (actual != f.value.number) {
        return fail(step, f.name + ": expected " + std::to_string(f.value.number) + ", got " +
                              std::to_string(actual));
      }
    }
    return Result::kProgress;
  }

  Result compareExt(const Step& step, const DecodedExtension& actual,
                    const std::vector<Field>& fields, std::string* diff) {
    DecodedExtension expected;
    std::string error;
    if (!expectedExtension(step.ext, fields, expected, error)) {
      return fail(step, error);
    }
    *diff = compareExtensions(expected, actual);
    return Result::kProgress;
  }

  Result read(const Step& step) {
    PeerStream* stream = streamOf(step);
    if (stream == nullptr) {
      return fail(step, "no accepted stream named " + step.stream);
    }
    if (step.frame == "idle") {
      if (!stream->queue.empty()) {
        return fail(step, "expected nothing yet, got " + stream->queue.front().describe());
      }
      return Result::kProgress;
    }
    const uint32_t type = expectedType(step.frame);
    if (type == 0) {
      return fail(step, "unknown frame " + step.frame);
    }
    if (stream->queue.empty()) {
      return Result::kBlocked;
    }
    if (stream->queue.front().type != type) {
      return fail(step, "expected " + step.frame + ", got " + stream->queue.front().describe());
    }
    if (step.frame == "message") {
      return readMessage(step, *stream);
    }
    const ReceivedFrame frame = stream->queue.front();
    std::string diff;
    if (compareExt(step, frame.ext, step.fields, &diff) == Result::kFailed) {
      return Result::kFailed;
    }
    if (type == ZB_FRAME_DATA) {
      uint8_t flags = 0;
      if (!flagsOf(step.flags, flags)) {
        return fail(step, "bad flags");
      }
      if ((frame.flags & ZB_DATA_COMPLETE) != flags) {
        diff += "  flags: expected " + flagsName(flags) + ", got " + flagsName(frame.flags) + "\n";
      }
      if (step.payload) {
        std::string error;
        const std::optional<std::string> want = payloadBytes(*step.payload, error);
        if (!error.empty()) {
          return fail(step, error);
        }
        if (!want && !frame.null_payload) {
          diff +=
              "  payload: expected null, got " + print(Value::string(frame.payload), true) + "\n";
        } else if (want && frame.null_payload) {
          diff += "  payload: expected " + print(Value::string(*want), true) + ", got null\n";
        } else if (want && *want != frame.payload) {
          diff += "  " + payloadDifference(*want, frame.payload) + "\n";
        }
      }
    }
    if (!diff.empty()) {
      return fail(step, "got " + frame.describe() + "\n" + diff);
    }
    stream->queue.pop_front();
    if (type == ZB_FRAME_BEGIN) {
      const Scheduled& grant = grants_[step.stream];
      if (grant.window >= 0) {
        stream->sendWindow(grant.window, grant.padding);
      }
    }
    if (type == ZB_FRAME_DATA || type == ZB_FRAME_FLUSH) {
      stream->acknowledge(frame.reserved);
    }
    return Result::kProgress;
  }

  // INIT .. FIN fragments of one message: flags in order, the extension on INIT only, its
  // `deferred` equal to the bytes after the INIT fragment unless the script says otherwise.
  Result readMessage(const Step& step, PeerStream& stream) {
    size_t fin = 0;
    bool found = false;
    for (size_t i = 0; i < stream.queue.size(); ++i) {
      if (stream.queue[i].type != ZB_FRAME_DATA) {
        return fail(step, "message interrupted by " + stream.queue[i].describe());
      }
      if ((stream.queue[i].flags & ZB_DATA_FIN) != 0) {
        fin = i;
        found = true;
        break;
      }
    }
    if (!found) {
      // The fragments so far are read: their credit goes back, or a message larger than the
      // window could never complete.
      bool acknowledged = false;
      for (size_t i = 0; i < stream.queue.size(); ++i) {
        // Index, not reference: acknowledging may bring more frames into the queue.
        if (!stream.queue[i].acknowledged) {
          stream.queue[i].acknowledged = true;
          acknowledged = true;
          stream.acknowledge(stream.queue[i].reserved);
        }
      }
      partial_ = acknowledged;
      return acknowledged ? Result::kProgress : Result::kBlocked;
    }
    std::string assembled;
    std::string diff;
    for (size_t i = 0; i <= fin; ++i) {
      const ReceivedFrame& frame = stream.queue[i];
      const bool init = (frame.flags & ZB_DATA_INIT) != 0;
      if (init != (i == 0)) {
        diff += "  fragment " + std::to_string(i) + ": flags " + flagsName(frame.flags) + "\n";
      }
      if (i > 0 && !frame.ext.kind.empty()) {
        diff +=
            "  fragment " + std::to_string(i) + " carries an extension: " + frame.ext.kind + "\n";
      }
      if (frame.null_payload) {
        diff += "  fragment " + std::to_string(i) + " has a null payload\n";
      }
      assembled += frame.payload;
    }
    const ReceivedFrame& first = stream.queue[0];
    std::vector<Field> fields = step.fields;
    const bool has_deferred = std::any_of(fields.begin(), fields.end(),
                                          [](const Field& f) { return f.name == "deferred"; });
    if (!has_deferred && !step.ext.empty()) {
      fields.push_back(
          Field{"deferred", Value::integer(int64_t(assembled.size() - first.payload.size()))});
    }
    std::string ext_diff;
    if (compareExt(step, first.ext, fields, &ext_diff) == Result::kFailed) {
      return Result::kFailed;
    }
    diff += ext_diff;
    if (step.payload) {
      std::string error;
      const std::optional<std::string> want = payloadBytes(*step.payload, error);
      if (!want) {
        return fail(step, error.empty() ? "read message needs a payload" : error);
      }
      if (*want != assembled) {
        diff += "  " + payloadDifference(*want, assembled) + "\n";
      }
    }
    if (!diff.empty()) {
      return fail(step, "got a message of " + std::to_string(fin + 1) + " fragment(s), first " +
                            first.describe() + "\n" + diff);
    }
    int32_t reserved = 0;
    for (size_t i = 0; i <= fin; ++i) {
      if (!stream.queue.front().acknowledged) {
        reserved += stream.queue.front().reserved;
      }
      stream.queue.pop_front();
    }
    stream.acknowledge(reserved);
    return Result::kProgress;
  }

  Result extensionOf(const Step& step, std::vector<Field> fields, sdk::Extension& ext) {
    ext = sdk::Extension{};
    if (step.ext.empty()) {
      return Result::kProgress;
    }
    std::string error;
    if (!encodeExtension(step.ext, fields, peer_.writer(), peer_.typeIds(), ext, error)) {
      return fail(step, error);
    }
    return Result::kProgress;
  }

  Result sent(const Step& step, int32_t result) {
    if (result != ZB_OK) {
      return fail(step, "the host refused the frame: result " + std::to_string(result));
    }
    return Result::kProgress;
  }

  Result write(const Step& step) {
    PeerStream* stream = streamOf(step);
    if (stream == nullptr) {
      return fail(step, "no accepted stream named " + step.stream);
    }
    sdk::Extension ext;
    if (step.frame == "message") {
      return writeMessage(step, *stream);
    }
    if (extensionOf(step, step.fields, ext) == Result::kFailed) {
      return Result::kFailed;
    }
    if (step.frame == "begin") {
      return sent(step, stream->sendBegin(ext));
    }
    if (step.frame == "data") {
      uint8_t flags = 0;
      if (!flagsOf(step.flags, flags)) {
        return fail(step, "bad flags");
      }
      std::string error;
      std::optional<std::string> bytes;
      if (step.payload) {
        bytes = payloadBytes(*step.payload, error);
        if (!error.empty()) {
          return fail(step, error);
        }
      } else {
        bytes = std::string();
      }
      const int64_t reserved = int64_t(bytes ? bytes->size() : 0) + stream->out_padding;
      if (stream->credit() < reserved && !step.overrun) {
        return Result::kBlocked;
      }
      // The extension is built again: the credit check may have waited.
      if (extensionOf(step, step.fields, ext) == Result::kFailed) {
        return Result::kFailed;
      }
      return sent(step, stream->sendData(flags, bytes ? &*bytes : nullptr, ext));
    }
    if (step.frame == "flush") {
      return sent(step, stream->sendFlush(ext));
    }
    if (step.frame == "end") {
      return sent(step, stream->sendEnd(ext));
    }
    if (step.frame == "abort") {
      return sent(step, stream->sendAbort(ext));
    }
    if (step.frame == "reset") {
      return sent(step, stream->sendReset(ext));
    }
    if (step.frame == "window") {
      const Value* max = option(step.options, "max");
      const Value* padding = option(step.options, "padding");
      return sent(step, stream->sendWindow(
                            max != nullptr ? int32_t(max->number) : stream->in_max,
                            padding != nullptr ? int32_t(padding->number) : stream->in_padding));
    }
    return fail(step, "cannot write " + step.frame);
  }

  // Fragments the payload within the binding's credit, as the kafka and grpc bindings do.
  Result writeMessage(const Step& step, PeerStream& stream) {
    if (!message_) {
      std::string error;
      message_ = step.payload ? payloadBytes(*step.payload, error) : std::nullopt;
      if (!message_) {
        return fail(step, error.empty() ? "write message needs a payload" : error);
      }
      message_sent_ = 0;
      message_started_ = false;
    }
    bool progressed = false;
    bool finished = false;
    while (!finished) {
      const size_t remaining = message_->size() - message_sent_;
      const int64_t room = stream.credit() - stream.out_padding;
      if (room < 0 || (room == 0 && remaining > 0)) {
        break;
      }
      const size_t n = std::min<size_t>(size_t(room), remaining);
      uint8_t flags = 0;
      sdk::Extension ext;
      if (!message_started_) {
        flags |= ZB_DATA_INIT;
        std::vector<Field> fields = step.fields;
        fields.erase(std::remove_if(fields.begin(), fields.end(),
                                    [](const Field& f) { return f.name == "deferred"; }),
                     fields.end());
        fields.push_back(Field{"deferred", Value::integer(int64_t(remaining - n))});
        if (extensionOf(step, fields, ext) == Result::kFailed) {
          return Result::kFailed;
        }
      }
      finished = n == remaining;
      if (finished) {
        flags |= ZB_DATA_FIN;
      }
      const std::string fragment = message_->substr(message_sent_, n);
      message_sent_ += n;
      message_started_ = true;
      progressed = true;
      if (stream.sendData(flags, &fragment, ext) != ZB_OK) {
        return fail(step, "the host refused a fragment");
      }
    }
    if (finished) {
      message_.reset();
      partial_ = false;
      return Result::kProgress;
    }
    partial_ = progressed;
    return progressed ? Result::kProgress : Result::kBlocked;
  }

  Script script_;
  Peer& peer_;
  std::set<std::string>& barriers_;
  std::function<void()> stop_;
  size_t pc_ = 0;
  bool partial_ = false;
  std::optional<std::string> message_;
  size_t message_sent_ = 0;
  bool message_started_ = false;
  std::map<std::string, PeerStream*> streams_;
  std::map<std::string, Scheduled> grants_;
  std::string failure_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

uint32_t MetricCapture::declare(zb_metric_kind kind, std::string_view /*binding*/,
                                std::string_view name, std::string_view labels) {
  const std::string key = std::string(name) + "{" + std::string(labels) + "}";
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      return static_cast<uint32_t>(i + 1);
    }
  }
  keys_.push_back(key);
  kinds_.push_back(kind);
  values_[key] = 0;
  return static_cast<uint32_t>(keys_.size());
}

void MetricCapture::record(uint32_t id, int64_t value) {
  if (id == 0 || id > keys_.size()) {
    return;
  }
  const std::string& key = keys_[id - 1];
  if (kinds_[id - 1] == ZB_METRIC_HISTOGRAM) {
    ++counts_[key];
  } else {
    values_[key] += value;
  }
}

int64_t MetricCapture::value(const std::string& key) const {
  auto it = values_.find(key);
  return it != values_.end() ? it->second : 0;
}

int64_t MetricCapture::count(const std::string& key) const {
  auto it = counts_.find(key);
  return it != counts_.end() ? it->second : 0;
}

void LogCapture::write(zb_log_level level, std::string_view binding, std::string_view msg) {
  static const char* const names[] = {"debug", "info", "warn", "error"};
  text +=
      std::string(names[level & 3]) + " " + std::string(binding) + ": " + std::string(msg) + "\n";
}

std::vector<std::string> scenarioNames(const std::string& root) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && fs::exists(entry.path() / "config.yaml")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

ScenarioResult runScenario(const std::string& dir, int64_t timeout_ns) {
  ScenarioResult result;
  LogCapture log;
  Peer kafka("kafka");
  Peer grpc("grpc");
  Peer::install({&kafka, &grpc});
  std::set<std::string> barriers;
  std::vector<std::unique_ptr<Executor>> executors;
  {
    runtime::Engine engine(log, &result.metrics);
    std::string error;
    std::unique_ptr<runtime::Plugin> plugin =
        runtime::Plugin::load(std::string(ZB_BINDINGS_DIR) + "/libbinding-kafka-grpc.so",
                              runtime::Engine::hostApi(), error);
    if (!plugin) {
      result.failure = "loading the binding: " + error;
      return result;
    }
    const std::string schema = plugin->api()->config_schema_json;
    if (!engine.addType(std::shared_ptr<runtime::Plugin>(std::move(plugin)), error) ||
        !engine.addType(Peer::api("kafka"), error) || !engine.addType(Peer::api("grpc"), error)) {
      result.failure = error;
      return result;
    }

    // The config, validated as zilla-host validates it.
    runtime::ConfigDocument document;
    std::vector<runtime::ConfigProblem> problems;
    if (!runtime::loadYaml(readFile(dir + "/config.yaml"), runtime::processEnv, document,
                           problems)) {
      result.failure = "config.yaml: " + (problems.empty() ? "unreadable" : problems[0].message);
      return result;
    }
    auto root = runtime::SchemaValidator::compile(runtime::zillaRootSchema(), error);
    auto mine = runtime::SchemaValidator::compile(schema, error);
    auto open = runtime::SchemaValidator::compile("{}", error);
    if (!root || !mine || !open) {
      result.failure = "schema: " + error;
      return result;
    }
    problems = runtime::validateZillaConfig(
        document, *root,
        [&](std::string_view type, std::string&) -> const runtime::SchemaValidator* {
          return type == "kafka-grpc" ? mine.get() : open.get();
        });
    if (!problems.empty()) {
      for (const auto& problem : problems) {
        result.failure += runtime::formatProblem("config.yaml", problem) + "\n";
      }
      return result;
    }
    const runtime::ZillaConfig config = runtime::readZillaConfig(document);
    for (const runtime::BindingEntry& entry : config.bindings) {
      const runtime::BindingDeclaration declaration = runtime::declarationOf(config, entry);
      if (engine.declare(declaration, error) == 0) {
        result.failure = error;
        return result;
      }
    }
    if (!engine.create(error)) {
      result.failure = "create: " + error;
      result.log = log.text;
      return result;
    }

    for (const char* side : {"kafka", "grpc"}) {
      const std::string path = dir + "/" + side + ".spec";
      if (!fs::exists(path)) {
        continue;
      }
      std::optional<Script> script = loadScript(path, error);
      if (!script) {
        result.failure = error;
        return result;
      }
      executors.push_back(std::make_unique<Executor>(std::move(*script),
                                                     side[0] == 'k' ? kafka : grpc, barriers,
                                                     [&engine] { engine.stop(); }));
    }

    std::string failure;
    const auto advanceAll = [&]() {
      bool progress = true;
      while (progress && failure.empty()) {
        progress = false;
        for (auto& executor : executors) {
          while (true) {
            const Executor::Result r = executor->advance();
            if (r == Executor::Result::kFailed) {
              failure = executor->failure();
              break;
            }
            if (r != Executor::Result::kProgress) {
              break;
            }
            progress = true;
          }
          if (!failure.empty()) {
            break;
          }
        }
      }
      return !failure.empty() || std::all_of(executors.begin(), executors.end(),
                                             [](const auto& executor) { return executor->done(); });
    };

    engine.start();
    const bool finished = engine.runUntil(advanceAll, timeout_ns);
    std::string state;
    for (const auto& executor : executors) {
      state += executor->state();
    }
    if (!failure.empty()) {
      result.failure = failure + "\n--- scripts\n" + state;
    } else if (!finished) {
      result.failure = "timed out\n--- scripts\n" + state;
    } else {
      // Whatever is due now still counts: then nothing may be left unread.
      engine.poll();
      std::string leftovers;
      for (const auto& executor : executors) {
        leftovers += executor->leftovers();
      }
      for (Peer* peer : {&kafka, &grpc}) {
        for (PeerStream* stream : peer->unaccepted) {
          leftovers +=
              peer->type() + ": a stream no script accepted, first frame " +
              (stream->queue.empty() ? std::string("none") : stream->queue.front().describe()) +
              "\n";
        }
      }
      if (!leftovers.empty()) {
        result.failure = leftovers + "--- scripts\n" + state;
      } else {
        result.passed = true;
      }
    }
    engine.shutdown();
  }
  Peer::install({});
  result.log = log.text;
  return result;
}

}  // namespace zb::kafka_grpc::spec
