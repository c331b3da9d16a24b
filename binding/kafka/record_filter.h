// The key and header filters of one fetch stream, compiled from its MergedBeginEx: conditions
// within a filter are ANDed, filters are ORed, no filters match every record.
#pragma once

#include <zb/ext/kafka_generated.h>

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <vector>

namespace zb::kafka_binding {

class RecordFilter {
 public:
  using Filters = flatbuffers::Vector<flatbuffers::Offset<::zb::kafka::Filter>>;

  // Copies the filters out of the (borrowed) BEGIN extension. Returns false with `error` when a
  // condition is malformed (no condition, or a header condition without a name).
  bool compile(const Filters* filters, std::string& error);

  // Whether matching needs the record's headers (so they are parsed only when needed).
  bool needsHeaders() const { return needs_headers_; }

  // `headers` may be nullptr when the record has none.
  bool matches(const rd_kafka_message_t& record, const rd_kafka_headers_t* headers) const {
    return mismatch(record, headers).empty();
  }
  // Empty when the record matches; otherwise the condition it failed ("key" or "header <name>";
  // of the last filter, when there are several).
  std::string_view mismatch(const rd_kafka_message_t& record,
                            const rd_kafka_headers_t* headers) const;

 private:
  struct Condition {
    bool key = false;  // a KeyCondition; otherwise a HeaderCondition
    std::string name;  // header name
    std::string value;
    bool null_value = false;  // the key (or header value) must be null
    std::string label;        // what a record that fails it is skipped for
  };
  using Conjunction = std::vector<Condition>;

  static bool matches(const Condition& condition, const rd_kafka_message_t& record,
                      const rd_kafka_headers_t* headers);

  std::vector<Conjunction> filters_;
  bool needs_headers_ = false;
};

}  // namespace zb::kafka_binding
