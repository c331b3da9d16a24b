#include "structured_log.h"

#include "utf8.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace zb::host {

namespace {

// 2024-05-01T12:00:00.123Z
std::string isoTime(int64_t now_ms) {
  const std::time_t seconds = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(now_ms % 1000));
  return std::string(text, n) + millis;
}

}  // namespace

std::string jsonEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
      ++i;
    } else {
      const size_t length = utf8Length(text, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
    }
  }
  return out;
}

bool looksSecret(std::string_view env_name) {
  std::string upper(env_name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // AUTHORITY (a host:port) is not a credential; AUTH alone usually is.
  for (size_t at = upper.find("AUTHORITY"); at != std::string::npos; at = upper.find("AUTHORITY")) {
    upper.erase(at, 9);
  }
  for (const char* marker : {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY",
                             "CREDENTIAL", "AUTH", "PRIVATE"}) {
    if (upper.find(marker) != std::string::npos) {
      return true;
    }
  }
  return false;
}

void StructuredLog::setSecrets(std::vector<std::string> secrets) {
  secrets.erase(std::remove_if(secrets.begin(), secrets.end(),
                               [](const std::string& s) { return s.size() < 4; }),
                secrets.end());
  // Longest first, so a secret containing another is masked whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::lock_guard<std::mutex> lock(mutex_);
  secrets_ = std::move(secrets);
}

std::string StructuredLog::masked(std::string_view msg) const {
  std::string text(msg);
  for (const std::string& secret : secrets_) {
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

std::string StructuredLog::formatLine(zb_log_level level, std::string_view binding,
                                      std::string_view msg, int64_t now_ms) const {
  const std::string text = masked(msg);
  std::string line;
  if (format_ == LogFormat::kJson) {
    line = "{\"ts\":\"" + isoTime(now_ms) + "\",\"level\":\"" + zb::runtime::logLevelName(level) +
           "\"";
    if (!binding.empty()) {
      line += ",\"binding\":\"" + jsonEscaped(binding) + "\"";
    }
    line += ",\"msg\":\"" + jsonEscaped(text) + "\"}";
  } else {
    std::string upper = zb::runtime::logLevelName(level);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    upper.resize(5, ' ');
    line = isoTime(now_ms) + " " + upper + " ";
    if (!binding.empty()) {
      line.append(binding);
      line += ": ";
    }
    // One event, one line: line breaks inside a message would split it for log readers.
    for (const char c : text) {
      line += (c == '\n' || c == '\r') ? ' ' : c;
    }
  }
  return line;
}

void StructuredLog::write(zb_log_level level, std::string_view binding, std::string_view msg) {
  if (level < threshold_) {
    return;
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::lock_guard<std::mutex> lock(mutex_);
  std::string line = formatLine(level, binding, msg, now_ms);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace zb::host
