// Base64 (RFC 4648 standard alphabet) for `-bin` metadata: BeginEx carries base64 text, gRPC
// carries the bytes.
#pragma once

#include <string>
#include <string_view>

namespace zb::grpc_binding {

// Appends the decoded bytes of `text` to `out`. Padding is optional; whitespace and any other
// character outside the alphabet make it return false (out is then unspecified).
bool decodeBase64(std::string_view text, std::string& out);

// Appends the padded base64 text of `bytes` to `out`.
void encodeBase64(std::string_view bytes, std::string& out);

}  // namespace zb::grpc_binding
