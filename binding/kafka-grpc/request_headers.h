// What the headers of a request record say: where to call, where to answer, and the metadata
// to send. Views point into the frame being handled; MetadataStore keeps copies for later.
#pragma once

#include "config.h"

#include <zb/abi.h>
#include <zb/ext/grpc_generated.h>
#include <zb/ext/kafka_generated.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zb::kafka_grpc {

struct MetadataView {
  zb::grpc::MetadataType type;
  std::string_view name;  // without "meta:" and "-bin"
  std::string_view value;
};

// The routing headers of one record (the configured names; a repeated header: the last wins),
// and its `meta:<name>` / `meta:<name>-bin` headers as gRPC metadata.
class RequestHeaders {
 public:
  // Parses the headers of a verified fetch extension.
  void parse(const zb::kafka::FetchDataEx& ex, const CorrelationHeaders& names);

  // The fetch extension of a record's first fragment, verified and parsed in one pass: what
  // sdk::readKafka(frame, kafka_type)->ex_as_FetchDataEx() returns (the same checks as the
  // FlatBuffers verifier, on the same bytes), with the headers parsed as parse() does. On nullptr
  // (no valid fetch extension) the headers are empty.
  //
  // Every exchange reads two such extensions; the generic verifier walks the headers once and
  // parse() a second time, this walks them once. Its checks follow FetchDataEx and Header field by
  // field: a field added to those tables in kafka.fbs must be added here before it is read.
  const zb::kafka::FetchDataEx* read(const zb_frame_t& frame, uint32_t kafka_type,
                                     const CorrelationHeaders& names);

  std::string_view service;
  std::string_view method;
  std::string_view correlation_id;
  std::string_view reply_to;
  std::vector<MetadataView> metadata;  // capacity kept between records
  // The first `-bin` entry whose value is not base64, or nullptr.
  const MetadataView* bad_base64 = nullptr;

  // What the call's request headers weigh as HTTP/2 counts a header list (RFC 7540 §6.5.2: each
  // field's name and value plus 32 bytes): the metadata, :path, :authority and the headers gRPC
  // adds itself. A peer drops the whole connection on a list above its limit.
  size_t headerListSize(std::string_view authority) const;

 private:
  struct Names;
  void clear();
  // One header; `bad` is the index of the first bad `-bin` entry so far (SIZE_MAX: none).
  void take(const Names& names, std::string_view name, std::string_view value, size_t& bad);
  void finish(size_t bad);
};

// True when `text` is base64 (standard alphabet, padding optional as gRPC allows).
bool isBase64(std::string_view text);

// Copies of metadata entries, in one arena reused from call to call.
class MetadataStore {
 public:
  void clear() {
    arena_.clear();
    entries_.clear();
  }
  void add(zb::grpc::MetadataType type, std::string_view name, std::string_view value) {
    Entry entry{type, arena_.size(), name.size(), 0, value.size()};
    arena_.append(name);
    entry.value_at = arena_.size();
    arena_.append(value);
    entries_.push_back(entry);
  }
  size_t size() const { return entries_.size(); }
  bool operator==(const MetadataStore& other) const {
    return entries_ == other.entries_ && arena_ == other.arena_;
  }
  MetadataView operator[](size_t i) const {
    const Entry& e = entries_[i];
    const std::string_view arena(arena_);
    return MetadataView{e.type, arena.substr(e.name_at, e.name_length),
                        arena.substr(e.value_at, e.value_length)};
  }

 private:
  struct Entry {
    zb::grpc::MetadataType type;
    size_t name_at;
    size_t name_length;
    size_t value_at;
    size_t value_length;
    bool operator==(const Entry&) const = default;
  };
  std::string arena_;
  std::vector<Entry> entries_;
};

}  // namespace zb::kafka_grpc
