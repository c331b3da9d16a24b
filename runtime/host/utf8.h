// UTF-8 checks for text that leaves the host (log lines, metric labels), which may hold bytes
// from traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zb::host {

// Length of the well-formed UTF-8 sequence at `text[i]` (no overlong forms, no surrogates, at
// most U+10FFFF), or 0 when there is none.
inline size_t utf8Length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t length;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    length = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    length = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    length = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  uint32_t code = c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD; when that is
// longer than `max_bytes`, cut on a character boundary and ended with "…", within `max_bytes`.
inline std::string validUtf8(std::string_view text, size_t max_bytes = SIZE_MAX) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  std::string out;
  size_t fits = 0;  // length of the prefix that leaves room for the ellipsis
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8Length(text, i);
    out.append(length == 0 ? kReplacement : text.substr(i, length));
    i += length == 0 ? 1 : length;
    if (out.size() + kEllipsis.size() <= max_bytes) {
      fits = out.size();
    } else if (out.size() > max_bytes) {
      out.resize(fits);
      out.append(kEllipsis);
      break;
    }
  }
  return out;
}

}  // namespace zb::host
