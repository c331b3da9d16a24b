#include "request_headers.h"

#include <zb/sdk/extension.hpp>

namespace zb::kafka_grpc {
namespace {

constexpr std::string_view kMetaPrefix = "meta:";
constexpr std::string_view kBinSuffix = "-bin";

bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool isBase64(std::string_view text) {
  size_t data = text.size();
  while (data > 0 && text[data - 1] == '=') {
    --data;
  }
  if (text.size() - data > 2 || (text.size() != data && text.size() % 4 != 0)) {
    return false;
  }
  if (data % 4 == 1) {
    return false;
  }
  for (size_t i = 0; i < data; ++i) {
    if (!isBase64Char(text[i])) {
      return false;
    }
  }
  return true;
}

void RequestHeaders::parse(const zb::kafka::FetchDataEx& ex, const CorrelationHeaders& names) {
  service = method = correlation_id = reply_to = std::string_view();
  metadata.clear();
  bad_base64 = nullptr;
  const auto* headers = ex.headers();
  if (headers == nullptr) {
    return;
  }
  size_t bad = SIZE_MAX;
  for (const zb::kafka::Header* header : *headers) {
    if (header == nullptr) {
      continue;
    }
    const std::string_view name = sdk::bytesOf(header->name());
    const std::string_view value = sdk::bytesOf(header->value());
    if (name == names.correlation_id) {
      correlation_id = value;
    } else if (name == names.service) {
      service = value;
    } else if (name == names.method) {
      method = value;
    } else if (name == names.reply_to) {
      reply_to = value;
    } else if (name.size() > kMetaPrefix.size() &&
               name.substr(0, kMetaPrefix.size()) == kMetaPrefix) {
      std::string_view key = name.substr(kMetaPrefix.size());
      zb::grpc::MetadataType type = zb::grpc::MetadataType::TEXT;
      if (key.size() > kBinSuffix.size() &&
          key.substr(key.size() - kBinSuffix.size()) == kBinSuffix) {
        key.remove_suffix(kBinSuffix.size());
        type = zb::grpc::MetadataType::BASE64;
        if (bad == SIZE_MAX && !isBase64(value)) {
          bad = metadata.size();
        }
      }
      metadata.push_back(MetadataView{type, key, value});
    }
  }
  if (bad != SIZE_MAX) {
    bad_base64 = &metadata[bad];
  }
}

}  // namespace zb::kafka_grpc
