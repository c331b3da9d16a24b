// Frame extensions as script values: every field of every kind the kafka and grpc extension
// schemas define, in a fixed order with their defaults, so a frame's extension is compared
// field by field with what a script expects, and a script's fields can be written as one.
#pragma once

#include "spec_script.h"

#include <zb/abi.h>
#include <zb/sdk/extension.hpp>

#include <string>
#include <vector>

namespace zb::kafka_grpc::spec {

struct TypeIds {
  uint32_t kafka = 0;
  uint32_t grpc = 0;
};

struct DecodedExtension {
  std::string kind;  // "" when the frame has none
  std::vector<Field> fields;
};

// Decodes a frame's extension completely; on a bad buffer, kind is "invalid".
DecodedExtension decodeExtension(const zb_frame_t& frame, const TypeIds& ids);

// The fields `kind` has, with script values filled over the defaults. False with `error` for an
// unknown kind or field.
bool expectedExtension(const std::string& kind, const std::vector<Field>& given,
                       DecodedExtension& out, std::string& error);

// Builds an extension of `kind` from script fields into `writer`. False with `error`.
bool encodeExtension(const std::string& kind, const std::vector<Field>& fields,
                     sdk::ExtensionWriter& writer, const TypeIds& ids, sdk::Extension& out,
                     std::string& error);

// Compares: every field equal, or expected `*`. Returns the differences, one per line.
std::string compareExtensions(const DecodedExtension& expected, const DecodedExtension& actual);

}  // namespace zb::kafka_grpc::spec
