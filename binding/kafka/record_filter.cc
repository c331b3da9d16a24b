#include "record_filter.h"

#include <cstring>
#include <string_view>

namespace zb::kafka_binding {

namespace {

std::string copyBytes(const flatbuffers::Vector<uint8_t>* bytes) {
  return bytes != nullptr ? std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size())
                          : std::string();
}

bool sameBytes(const void* data, size_t size, const std::string& expected) {
  return size == expected.size() && (size == 0 || std::memcmp(data, expected.data(), size) == 0);
}

}  // namespace

bool RecordFilter::compile(const Filters* filters, std::string& error) {
  filters_.clear();
  needs_headers_ = false;
  if (filters == nullptr) {
    return true;
  }
  for (flatbuffers::uoffset_t i = 0; i < filters->size(); ++i) {
    const ::zb::kafka::Filter* filter = filters->Get(i);
    Conjunction conjunction;
    if (filter != nullptr && filter->conditions() != nullptr) {
      for (const ::zb::kafka::ConditionEntry* entry : *filter->conditions()) {
        Condition condition;
        if (const auto* key = entry->condition_as_KeyCondition()) {
          condition.key = true;
          condition.label = "key";
          condition.null_value = key->value() == nullptr;
          condition.value = copyBytes(key->value());
        } else if (const auto* header = entry->condition_as_HeaderCondition()) {
          if (header->name() == nullptr || header->name()->size() == 0) {
            error = "filters[" + std::to_string(i) + "]: header condition without a name";
            return false;
          }
          condition.name = copyBytes(header->name());
          condition.label = "header " + condition.name;
          condition.null_value = header->value() == nullptr;
          condition.value = copyBytes(header->value());
          needs_headers_ = true;
        } else {
          error = "filters[" + std::to_string(i) + "]: condition of unknown kind";
          return false;
        }
        conjunction.push_back(std::move(condition));
      }
    }
    filters_.push_back(std::move(conjunction));
  }
  return true;
}

bool RecordFilter::matches(const Condition& condition, const rd_kafka_message_t& record,
                           const rd_kafka_headers_t* headers) {
  if (condition.key) {
    if (record.key == nullptr) {
      return condition.null_value;
    }
    return !condition.null_value && sameBytes(record.key, record.key_len, condition.value);
  }
  if (headers == nullptr) {
    return false;
  }
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    if (std::string_view(name) != condition.name) {
      continue;
    }
    if (value == nullptr ? condition.null_value
                         : !condition.null_value && sameBytes(value, size, condition.value)) {
      return true;
    }
  }
  return false;
}

std::string_view RecordFilter::mismatch(const rd_kafka_message_t& record,
                                        const rd_kafka_headers_t* headers) const {
  std::string_view failed;
  for (const Conjunction& conjunction : filters_) {
    failed = {};
    for (const Condition& condition : conjunction) {
      if (!matches(condition, record, headers)) {
        failed = condition.label;
        break;
      }
    }
    if (failed.empty()) {
      return {};
    }
  }
  return failed;
}

}  // namespace zb::kafka_binding
