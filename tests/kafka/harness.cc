#include "harness.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

namespace zb::kafka_test {

namespace kx = ::zb::kafka;

namespace {

// The app binding: it only initiates streams, which the tests open through its host.
class AppBinding : public sdk::Binding {
 public:
  using Binding::Binding;
};

sdk::Binding* created_app = nullptr;

const char* const kAppType = "app";
const char* const kAppSchema = "{}";
std::unique_ptr<sdk::Binding> makeApp(const sdk::Host& host, const zb_binding_config_t&,
                                      std::string&) {
  auto made = std::make_unique<AppBinding>(host);
  created_app = made.get();
  return made;
}
using AppExports = sdk::detail::Exports<&kAppType, &kAppSchema, &makeApp>;

std::shared_ptr<runtime::Plugin> kafkaPlugin(std::string& error) {
  static std::mutex mutex;
  static std::shared_ptr<runtime::Plugin> plugin;
  static std::string load_error;
  std::lock_guard<std::mutex> lock(mutex);
  if (!plugin && load_error.empty()) {
    plugin = runtime::Plugin::load(ZB_BINDINGS_DIR "/libbinding-kafka.so",
                                   runtime::Engine::hostApi(), load_error);
  }
  error = load_error;
  return plugin;
}

std::optional<std::string> optionalBytes(const flatbuffers::Vector<uint8_t>* bytes) {
  if (bytes == nullptr) {
    return std::nullopt;
  }
  return std::string(sdk::bytesOf(bytes));
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> optionalBytesIn(
    flatbuffers::FlatBufferBuilder& fbb, const std::optional<std::string>& bytes) {
  return bytes ? sdk::bytesIn(fbb, *bytes) : 0;
}

void readResetEx(const zb_frame_t& frame, uint32_t kafka_type, int32_t& error,
                 std::string& message) {
  const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type);
  if (const kx::ResetEx* reset = ext != nullptr ? ext->ex_as_ResetEx() : nullptr) {
    error = reset->error();
    message = std::string(sdk::textOf(reset->message()));
  }
}

}  // namespace

// ---- FetchClient

FetchClient::FetchClient(const sdk::Host& host, uint64_t origin, uint64_t routed, FetchLog& log,
                         uint32_t kafka_type)
    : sdk::Stream(host, origin, routed), log_(log), kafka_type_(kafka_type) {}

int32_t FetchClient::open(const FetchSpec& spec) {
  in().setMaximum(spec.window);
  in().setPadding(spec.padding);
  flatbuffers::FlatBufferBuilder& fbb = writer_.start();
  std::vector<flatbuffers::Offset<kx::Filter>> filters;
  for (const Filter& filter : spec.filters) {
    std::vector<flatbuffers::Offset<kx::ConditionEntry>> conditions;
    if (filter.key) {
      const auto key = kx::CreateKeyCondition(fbb, optionalBytesIn(fbb, *filter.key));
      conditions.push_back(kx::CreateConditionEntry(fbb, kx::Condition::KeyCondition, key.Union()));
    }
    for (const auto& [name, value] : filter.headers) {
      const auto header =
          kx::CreateHeaderCondition(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value));
      conditions.push_back(
          kx::CreateConditionEntry(fbb, kx::Condition::HeaderCondition, header.Union()));
    }
    filters.push_back(kx::CreateFilter(fbb, fbb.CreateVector(conditions)));
  }
  const std::vector<kx::Offset> partitions{kx::Offset(-1, -2)};
  const auto begin = kx::CreateMergedBeginEx(
      fbb, kx::Capabilities::FETCH_ONLY, fbb.CreateString(spec.topic), fbb.CreateString(spec.group),
      fbb.CreateVectorOfStructs(partitions), filters.empty() ? 0 : fbb.CreateVector(filters),
      kx::AckMode::IN_SYNC_REPLICAS);
  return doBegin(writer_.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::MergedBeginEx, begin.Union()), kafka_type_));
}

void FetchClient::commit(int32_t partition, int64_t offset) {
  flatbuffers::FlatBufferBuilder& fbb = writer_.start();
  const kx::Offset progress(partition, offset);
  const auto flush = kx::CreateConsumerFlushEx(fbb, &progress);
  doFlush(writer_.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::ConsumerFlushEx, flush.Union()), kafka_type_));
}

void FetchClient::release(const std::vector<int32_t>& partitions) {
  flatbuffers::FlatBufferBuilder& fbb = writer_.start();
  const auto release = kx::CreateConsumerReleaseExDirect(fbb, &partitions);
  log_.releases.insert(log_.releases.end(), partitions.begin(), partitions.end());
  doFlush(writer_.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::ConsumerReleaseEx, release.Union()), kafka_type_));
}

void FetchClient::onFlush(const zb_frame_t& frame) {
  const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type_);
  const kx::AssignmentFlushEx* flush = ext != nullptr ? ext->ex_as_AssignmentFlushEx() : nullptr;
  REQUIRE_MESSAGE(flush != nullptr, "FLUSH on a fetch stream without AssignmentFlushEx");
  std::vector<int32_t> revoked;
  if (flush->assigned() != nullptr) {
    log_.assigned.insert(log_.assigned.end(), flush->assigned()->begin(), flush->assigned()->end());
  }
  if (flush->revoked() != nullptr) {
    revoked.assign(flush->revoked()->begin(), flush->revoked()->end());
    log_.revoked.insert(log_.revoked.end(), revoked.begin(), revoked.end());
  }
  if (!revoked.empty() && !hold_releases_) {
    release(revoked);
  }
}

void FetchClient::holdCredit(bool hold) {
  hold_ = hold;
  if (!hold && in().consumeAll()) {
    doWindow();
  }
}

void FetchClient::onBegin(const zb_frame_t&) {
  log_.begun = true;
  doWindow();
}

void FetchClient::onData(const zb_frame_t& frame) {
  ++log_.fragments;
  log_.largest_fragment = std::max(log_.largest_fragment, frame.payload_length);
  if (in().sequence() > in().acknowledge() + in().maximum()) {
    log_.overrun = true;
  }
  if ((frame.flags & ZB_DATA_INIT) != 0) {
    if (partial_open_) {
      log_.interleaved = true;
    }
    partial_open_ = true;
    partial_ = Record{};
    partial_value_.clear();
    partial_null_ = frame.payload == nullptr;
    const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type_);
    const kx::FetchDataEx* data = ext != nullptr ? ext->ex_as_FetchDataEx() : nullptr;
    REQUIRE_MESSAGE(data != nullptr, "INIT fragment without FetchDataEx");
    log_.deferred.push_back(data->deferred());
    partial_.key = optionalBytes(data->key());
    partial_.timestamp = data->timestamp();
    if (data->partition() != nullptr) {
      partial_.partition = data->partition()->partition_id();
      partial_.offset = data->partition()->partition_offset();
    }
    if (data->headers() != nullptr) {
      for (const kx::Header* header : *data->headers()) {
        partial_.headers.emplace_back(std::string(sdk::bytesOf(header->name())),
                                      optionalBytes(header->value()));
      }
    }
  }
  if (frame.payload != nullptr) {
    partial_value_.append(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
  }
  if ((frame.flags & ZB_DATA_FIN) != 0) {
    partial_open_ = false;
    if (!partial_null_) {
      partial_.value = partial_value_;
    }
    log_.records.push_back(partial_);
  }
  if (!hold_) {
    in().consumeAll();
    doWindow();
  }
}

void FetchClient::readReset(const zb_frame_t& frame) {
  readResetEx(frame, kafka_type_, log_.error, log_.message);
}

void FetchClient::onEnd(const zb_frame_t&) {
  log_.ended = true;
  doEnd();
}

void FetchClient::onAbort(const zb_frame_t& frame) {
  log_.aborted = true;
  readReset(frame);
  doEnd();
}

void FetchClient::onReset(const zb_frame_t& frame) {
  log_.reset = true;
  readReset(frame);
  doReset();
}

void FetchClient::onRelease() {
  log_.released = true;
  delete this;
}

// ---- ProduceClient

ProduceClient::ProduceClient(const sdk::Host& host, uint64_t origin, uint64_t routed,
                             ProduceLog& log, uint32_t kafka_type)
    : sdk::Stream(host, origin, routed), log_(log), kafka_type_(kafka_type) {}

int32_t ProduceClient::open(const std::string& topic, kx::AckMode acks) {
  in().setMaximum(64 * 1024);
  flatbuffers::FlatBufferBuilder& fbb = writer_.start();
  const auto begin = kx::CreateMergedBeginEx(fbb, kx::Capabilities::PRODUCE_ONLY,
                                             fbb.CreateString(topic), 0, 0, 0, acks);
  return doBegin(writer_.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::MergedBeginEx, begin.Union()), kafka_type_));
}

void ProduceClient::send(Record record) {
  queue_.push_back(std::move(record));
  pump();
}

void ProduceClient::finish() {
  finish_ = true;
  pump();
}

void ProduceClient::pump() {
  // doData may come back here (the binding acknowledges inside it): finish this pass first.
  if (pumping_) {
    repump_ = true;
    return;
  }
  pumping_ = true;
  do {
    repump_ = false;
    pumpOnce();
  } while (repump_ && !release_pending_);
  pumping_ = false;
  if (release_pending_) {
    delete this;  // released while sending (the test called in from outside any hook)
  }
}

void ProduceClient::pumpOnce() {
  while (!queue_.empty() && out().opened() && !writeClosed() && !release_pending_) {
    Record& record = queue_.front();
    const size_t length = record.value ? record.value->size() : 0;
    const auto* value =
        record.value ? reinterpret_cast<const uint8_t*>(record.value->data()) : nullptr;
    const int64_t remaining = int64_t(length - sent_);
    const int64_t chunk = out().sendable(remaining);
    if (!out().canSend(chunk) || (chunk == 0 && remaining > 0)) {
      return;
    }
    const bool fin = chunk == remaining;
    uint8_t flags = fin ? ZB_DATA_FIN : 0;
    sdk::Extension ext;
    if (!started_) {
      flags |= ZB_DATA_INIT;
      flatbuffers::FlatBufferBuilder& fbb = writer_.start();
      std::vector<flatbuffers::Offset<kx::Header>> headers;
      for (const auto& [name, header_value] : record.headers) {
        headers.push_back(
            kx::CreateHeader(fbb, sdk::bytesIn(fbb, name), optionalBytesIn(fbb, header_value)));
      }
      const kx::Offset partition(record.partition, -1);
      const auto data = kx::CreateProduceDataEx(fbb, int32_t(remaining - chunk), record.timestamp,
                                                &partition, optionalBytesIn(fbb, record.key),
                                                headers.empty() ? 0 : fbb.CreateVector(headers));
      ext = writer_.finishKafka(
          kx::CreateKafkaExtension(fbb, kx::KafkaEx::ProduceDataEx, data.Union()), kafka_type_);
      started_ = true;
    }
    const uint8_t* from = value != nullptr ? value + sent_ : nullptr;
    ++log_.fragments;
    if (fin) {
      // The record leaves the queue only after doData (its bytes are sent from it).
      log_.ends.push_back(out().sequence() + int64_t(chunk) + out().padding());
      sent_ = 0;
      started_ = false;
      doData(flags, from, size_t(chunk), ext);
      if (!queue_.empty()) {
        queue_.pop_front();
      }
    } else {
      sent_ += size_t(chunk);
      doData(flags, from, size_t(chunk), ext);
    }
  }
  if (queue_.empty() && finish_ && !writeClosed() && !release_pending_) {
    doEnd();
  }
}

void ProduceClient::readReset(const zb_frame_t& frame) {
  readResetEx(frame, kafka_type_, log_.error, log_.message);
}

void ProduceClient::onBegin(const zb_frame_t&) {
  log_.begun = true;
  doWindow();
}

void ProduceClient::onWindow(const zb_frame_t& frame) {
  ++log_.windows;
  if (log_.padding < 0) {
    log_.padding = frame.padding;
  }
  log_.acknowledged = frame.acknowledge;
  pump();
}

void ProduceClient::onEnd(const zb_frame_t&) { log_.ended = true; }

void ProduceClient::onAbort(const zb_frame_t& frame) {
  log_.aborted = true;
  readReset(frame);
}

void ProduceClient::onReset(const zb_frame_t& frame) {
  log_.reset = true;
  readReset(frame);
  queue_.clear();  // the RESET closed the direction: nothing more goes out
}

void ProduceClient::onRelease() {
  log_.released = true;
  if (pumping_) {
    release_pending_ = true;
  } else {
    delete this;
  }
}

// ---- CapturedLog

void CapturedLog::write(zb_log_level level, std::string_view binding, std::string_view msg) {
  static const char* const kLevels[] = {"debug", "info", "warn", "error"};
  std::string line =
      std::string(kLevels[level]) + " " + std::string(binding) + ": " + std::string(msg);
  std::lock_guard<std::mutex> lock(mutex_);
  if (level >= ZB_LOG_INFO || std::getenv("ZB_TEST_DEBUG") != nullptr) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  lines_.push_back(std::move(line));
}

std::vector<std::string> CapturedLog::lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

std::string CapturedLog::find(const std::string& needle) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& line : lines_) {
    if (line.find(needle) != std::string::npos) {
      return line;
    }
  }
  return "";
}

// ---- MetricTotals

uint32_t MetricTotals::declare(zb_metric_kind, std::string_view, std::string_view name,
                               std::string_view) {
  names_.emplace_back(name);
  values_.push_back(0);
  return uint32_t(names_.size());
}

void MetricTotals::record(uint32_t id, int64_t value) {
  if (id >= 1 && id <= values_.size()) {
    values_[id - 1] += value;
  }
}

int64_t MetricTotals::total(const std::string& name) const {
  int64_t sum = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) {
      sum += values_[i];
    }
  }
  return sum;
}

// ---- Harness

Harness::Harness(const std::string& options_json) {
  std::shared_ptr<runtime::Plugin> plugin = kafkaPlugin(error_);
  REQUIRE_MESSAGE(plugin, error_);
  REQUIRE(engine_.addType(plugin, error_));
  char reason[256];
  REQUIRE(
      engine_.addType(AppExports::init(runtime::Engine::hostApi(), reason, sizeof reason), error_));
  runtime::BindingDeclaration kafka{"test", "kafka0", "kafka", "client"};
  kafka.options_json = options_json;
  kafka_id_ = engine_.declare(kafka, error_);
  app_id_ = engine_.declare({"test", "app0", "app", "client"}, error_);
  REQUIRE(kafka_id_ != 0);
  REQUIRE(app_id_ != 0);
  created_app = nullptr;
  created_ = engine_.create(error_);
  app_ = created_app;
  if (created_) {
    engine_.start();
  }
}

Harness::~Harness() { engine_.shutdown(); }

const sdk::Host& Harness::appHost() const { return app_->host(); }

uint32_t Harness::kafkaType() const { return appHost().typeId("kafka"); }

FetchClient* Harness::fetch(const FetchSpec& spec, FetchLog& log) {
  auto* stream = new FetchClient(appHost(), app_id_, kafka_id_, log, kafkaType());
  REQUIRE(stream->open(spec) == ZB_OK);
  return stream;
}

ProduceClient* Harness::produce(const std::string& topic, kx::AckMode acks, ProduceLog& log) {
  auto* stream = new ProduceClient(appHost(), app_id_, kafka_id_, log, kafkaType());
  REQUIRE(stream->open(topic, acks) == ZB_OK);
  return stream;
}

bool Harness::runUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  return engine_.runUntil(done, timeout_ms * 1'000'000);
}

void Harness::runFor(int64_t ms) {
  engine_.runUntil([] { return false; }, ms * 1'000'000);
}

bool runAll(const std::vector<Harness*>& harnesses, const std::function<bool()>& done,
            int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return done();
    }
    for (Harness* harness : harnesses) {
      harness->engine().runUntil(done, 10'000'000);
    }
  }
  return true;
}

}  // namespace zb::kafka_test
