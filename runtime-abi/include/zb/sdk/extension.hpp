// Reading and writing frame extensions: FlatBuffers buffers of the schemas in
// runtime-abi/extensions, tagged with the host-assigned type id of their type name.
//
// Reading verifies the buffer before any field is touched, so corrupt bytes from a peer are a
// nullptr (answer with RESET or ABORT), never a crash. Writing reuses one builder per owner, so
// steady-state traffic does not allocate.
#pragma once

#include <zb/ext/grpc_generated.h>
#include <zb/ext/kafka_generated.h>
#include <zb/sdk/binding.hpp>

#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <string_view>

namespace zb::sdk {

// Verifies and returns the extension's root when the frame carries one of type `type_id`,
// whose buffer has the schema's file identifier; nullptr otherwise.
template <typename Root>
const Root* readExtension(const zb_frame_t& frame, uint32_t type_id, const char* identifier) {
  if (frame.extension == nullptr || frame.extension_type_id != type_id || type_id == 0) {
    return nullptr;
  }
  // The identifier is checked here, with a fixed-size compare, and not again by the verifier.
  if (frame.extension_length <
          sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength ||
      std::memcmp(frame.extension + sizeof(flatbuffers::uoffset_t), identifier,
                  flatbuffers::kFileIdentifierLength) != 0) {
    return nullptr;
  }
  flatbuffers::Verifier verifier(frame.extension, frame.extension_length);
  if (!verifier.VerifyBuffer<Root>(nullptr)) {
    return nullptr;
  }
  return flatbuffers::GetRoot<Root>(frame.extension);
}

inline const zb::kafka::KafkaExtension* readKafka(const zb_frame_t& frame, uint32_t type_id) {
  return readExtension<zb::kafka::KafkaExtension>(frame, type_id,
                                                  zb::kafka::KafkaExtensionIdentifier());
}

inline const zb::grpc::GrpcExtension* readGrpc(const zb_frame_t& frame, uint32_t type_id) {
  return readExtension<zb::grpc::GrpcExtension>(frame, type_id,
                                                zb::grpc::GrpcExtensionIdentifier());
}

// A reusable FlatBuffers builder for one extension type. Clear() keeps its memory, so after the
// first few frames building an extension allocates nothing.
class ExtensionWriter {
 public:
  explicit ExtensionWriter(size_t initial_size = 512) : fbb_(initial_size) {}

  flatbuffers::FlatBufferBuilder& start() {
    fbb_.Clear();
    return fbb_;
  }

  // Finishes the buffer with `root` and the schema's identifier; returns it tagged `type_id`.
  template <typename T>
  Extension finish(flatbuffers::Offset<T> root, uint32_t type_id, const char* identifier) {
    fbb_.Finish(root, identifier);
    return Extension{type_id, fbb_.GetBufferPointer(), static_cast<uint32_t>(fbb_.GetSize())};
  }

  Extension finishKafka(flatbuffers::Offset<zb::kafka::KafkaExtension> root, uint32_t type_id) {
    return finish(root, type_id, zb::kafka::KafkaExtensionIdentifier());
  }
  Extension finishGrpc(flatbuffers::Offset<zb::grpc::GrpcExtension> root, uint32_t type_id) {
    return finish(root, type_id, zb::grpc::GrpcExtensionIdentifier());
  }

  flatbuffers::FlatBufferBuilder& builder() { return fbb_; }

 private:
  flatbuffers::FlatBufferBuilder fbb_;
};

// Bytes of a FlatBuffers [ubyte] vector as a string_view; empty when absent.
inline std::string_view bytesOf(const flatbuffers::Vector<uint8_t>* bytes) {
  return bytes != nullptr
             ? std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size())
             : std::string_view();
}

inline std::string_view textOf(const flatbuffers::String* text) {
  return text != nullptr ? std::string_view(text->data(), text->size()) : std::string_view();
}

inline flatbuffers::Offset<flatbuffers::Vector<uint8_t>> bytesIn(
    flatbuffers::FlatBufferBuilder& fbb, std::string_view bytes) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace zb::sdk
