// Label text for Host::metric: `name="value"` pairs joined by commas, each value escaped the way
// the host reads it back (\" \\ \n). The host also replaces bytes that are not UTF-8 and bounds
// the length, so a value taken from traffic cannot break the exposition format; which values a
// binding lets into a label (and so how many series it can make) is the binding's to bound.
#pragma once

#include <string>
#include <string_view>

namespace zb::sdk {

inline void appendLabel(std::string& labels, std::string_view name, std::string_view value) {
  if (!labels.empty()) {
    labels.push_back(',');
  }
  labels.append(name).append("=\"");
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      labels.push_back('\\');
      labels.push_back(c);
    } else if (c == '\n') {
      labels.append("\\n");
    } else {
      labels.push_back(c);
    }
  }
  labels.push_back('"');
}

}  // namespace zb::sdk
