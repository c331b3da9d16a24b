// The extensions this binding sends on every exchange, built once and sent again.
//
// Building a FlatBuffers extension costs far more than the frame that carries it, and most of
// what one exchange sends has the same shape as the previous exchange's: the call BEGIN of a route
// (scheme, authority, service, method, metadata), the produce BEGIN of its reply topic, the DATA
// extension of a whole request message, the reply record and status tombstone (differing only in
// the correlation id) and the commit (differing only in the offset). So each is kept: sent as is
// when its inputs are the same, patched in place when only fixed-size parts differ (the bytes of
// an id of the same length, an offset), and rebuilt otherwise. Nothing allocates once the
// builders have grown to the sizes in use.
//
// A kept extension never changes while a frame carrying it is being delivered (the receiver may
// read it until its hook returns, and a nested delivery may ask for the same kind with other
// inputs): such a nested request gets the extension built in a writer leased from the pool.
//
// Thread: engine.
#pragma once

#include "config.h"
#include "request_headers.h"

#include <zb/sdk/extension.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zb::kafka_grpc {

// Extension builders for frames whose extension is not kept (or a nested frame's), reused so that
// building does not allocate in steady state. A lease takes a builder only when first used.
class WriterPool {
 public:
  class Lease {
   public:
    explicit Lease(WriterPool& pool) : pool_(pool) {}
    ~Lease() {
      if (writer_ != nullptr) {
        pool_.free_.push_back(writer_);
      }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    sdk::ExtensionWriter* operator->() { return &get(); }
    sdk::ExtensionWriter& operator*() { return get(); }

   private:
    sdk::ExtensionWriter& get() {
      if (writer_ == nullptr) {
        writer_ = pool_.take();
      }
      return *writer_;
    }
    WriterPool& pool_;
    sdk::ExtensionWriter* writer_ = nullptr;
  };

  Lease lease() { return Lease(*this); }

 private:
  sdk::ExtensionWriter* take();

  std::vector<std::unique_ptr<sdk::ExtensionWriter>> storage_;
  std::vector<sdk::ExtensionWriter*> free_;
};

// One extension kept between frames, with the builder that holds its bytes.
class KeptExtension {
 public:
  KeptExtension() : writer_(256) {}
  KeptExtension(const KeptExtension&) = delete;
  KeptExtension& operator=(const KeptExtension&) = delete;

  bool valid() const { return valid_; }
  // A frame carrying these bytes is being delivered: they may not change now.
  bool busy() const { return users_ > 0; }
  const sdk::Extension& ext() const { return ext_; }

  // The builder to rebuild into; the bytes are invalid until keep().
  sdk::ExtensionWriter& rebuild() {
    valid_ = false;
    return writer_;
  }
  void keep(const sdk::Extension& ext) {
    ext_ = ext;
    data_ = writer_.builder().GetBufferPointer();
    valid_ = true;
  }

  // Where `field` (a pointer into the kept bytes, from reading them) is, to patch it later.
  size_t offsetOf(const void* field) const {
    return static_cast<size_t>(static_cast<const uint8_t*>(field) - data_);
  }
  // Overwrites kept bytes at `offset`; only when not busy.
  void patch(size_t offset, const void* bytes, size_t length) {
    if (length > 0) {
      std::memcpy(data_ + offset, bytes, length);
    }
  }

 private:
  friend class ExtensionUse;

  sdk::ExtensionWriter writer_;
  sdk::Extension ext_;
  uint8_t* data_ = nullptr;
  bool valid_ = false;
  uint32_t users_ = 0;
};

// Marks the kept extension a frame carries as in use until the frame has been delivered: declare
// it before the extension is asked for, in the scope that sends the frame.
class ExtensionUse {
 public:
  ExtensionUse() = default;
  ~ExtensionUse() {
    if (kept_ != nullptr) {
      --kept_->users_;
    }
  }
  ExtensionUse(const ExtensionUse&) = delete;
  ExtensionUse& operator=(const ExtensionUse&) = delete;

  const sdk::Extension& hold(KeptExtension& kept) {
    if (kept_ != nullptr) {
      --kept_->users_;
    }
    kept_ = &kept;
    ++kept.users_;
    return kept.ext();
  }

 private:
  KeptExtension* kept_ = nullptr;
};

class ExtensionCache {
 public:
  ExtensionCache(uint32_t kafka_type, uint32_t grpc_type, const Options& options, size_t routes);

  // BEGIN of a call on route number `route_index`.
  sdk::Extension callBegin(size_t route_index, const Route& route, std::string_view service,
                           std::string_view method, const MetadataStore& metadata,
                           int32_t deadline_ms, ExtensionUse& use, WriterPool::Lease& lease);
  // DATA of a call, on a request message's first fragment.
  sdk::Extension callData(int32_t deferred, ExtensionUse& use, WriterPool::Lease& lease);
  // BEGIN of the produce stream to a reply topic, for a call of route number `route_index`.
  sdk::Extension produceBegin(size_t route_index, std::string_view topic, ExtensionUse& use,
                              WriterPool::Lease& lease);
  // A reply record's first fragment: key and correlation header `id`, response `metadata`.
  sdk::Extension replyRecord(std::string_view id, int32_t deferred, const MetadataStore& metadata,
                             ExtensionUse& use, WriterPool::Lease& lease);
  // The status tombstone of a call.
  sdk::Extension statusRecord(std::string_view id, int32_t status, std::string_view message,
                              ExtensionUse& use, WriterPool::Lease& lease);
  // A commit of `offset` on `partition` (FLUSH of a fetch stream).
  sdk::Extension commit(int32_t partition, int64_t offset, ExtensionUse& use,
                        WriterPool::Lease& lease);

 private:
  struct CallBegin {
    KeptExtension kept;
    std::string service;
    std::string method;
    MetadataStore metadata;
    int32_t deadline_ms = 0;
  };
  struct ProduceBegin {
    KeptExtension kept;
    std::string topic;
  };
  struct CallData {
    KeptExtension kept;
    int32_t deferred = 0;
  };
  // A produce record whose correlation id is patched into the key and the correlation header.
  struct IdRecord {
    KeptExtension kept;
    size_t id_length = 0;
    size_t key_at = 0;
    size_t header_at = 0;
    void locate();
    void patchId(std::string_view id);
  };
  struct ReplyRecord : IdRecord {
    int32_t deferred = 0;
    MetadataStore metadata;
  };
  struct StatusRecord : IdRecord {
    int32_t status = 0;
    std::string message;
  };
  struct Commit {
    KeptExtension kept;
    size_t progress_at = 0;
  };

  sdk::Extension buildCallBegin(sdk::ExtensionWriter& writer, const Route& route,
                                std::string_view service, std::string_view method,
                                const MetadataStore& metadata, int32_t deadline_ms);
  sdk::Extension buildCallData(sdk::ExtensionWriter& writer, int32_t deferred) const;
  sdk::Extension buildProduceBegin(sdk::ExtensionWriter& writer, std::string_view topic) const;
  sdk::Extension buildReplyRecord(sdk::ExtensionWriter& writer, std::string_view id,
                                  int32_t deferred, const MetadataStore& metadata);
  sdk::Extension buildStatusRecord(sdk::ExtensionWriter& writer, std::string_view id,
                                   int32_t status, std::string_view message);
  sdk::Extension buildCommit(sdk::ExtensionWriter& writer, int32_t partition, int64_t offset) const;

  const uint32_t kafka_type_;
  const uint32_t grpc_type_;
  const std::string correlation_header_;
  const AckMode acks_;

  std::vector<CallBegin> call_begins_;        // one per route
  std::vector<ProduceBegin> produce_begins_;  // one per route
  CallData call_data_;
  ReplyRecord reply_record_;
  StatusRecord status_record_;
  Commit commit_;

  // Scratch for the vectors of tables being built.
  std::vector<flatbuffers::Offset<zb::grpc::Metadata>> metadata_offsets_;
  std::vector<flatbuffers::Offset<zb::kafka::Header>> header_offsets_;
};

}  // namespace zb::kafka_grpc
