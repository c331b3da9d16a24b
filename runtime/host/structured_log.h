// The host's LogSink: one JSON object per line ({"ts","level","binding","msg"}) or plain text,
// to a FILE (stdout), with known secret values masked.
#pragma once

#include "command_line.h"

#include <zb/runtime/engine.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace zb::host {

class StructuredLog : public zb::runtime::LogSink {
 public:
  StructuredLog(std::FILE* out, zb_log_level threshold, LogFormat format)
      : out_(out), threshold_(threshold), format_(format) {}

  // Thread: any. Lines below the threshold are dropped; `binding` may be empty (then the JSON
  // has no "binding" member).
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override;

  // Values replaced by "***" wherever they appear in a message. Values shorter than 4 bytes are
  // not masked (they would blank out ordinary text). Call before other threads log.
  void setSecrets(std::vector<std::string> secrets);

  void info(std::string_view msg) { write(ZB_LOG_INFO, "zilla-host", msg); }
  void warn(std::string_view msg) { write(ZB_LOG_WARN, "zilla-host", msg); }
  void error(std::string_view msg) { write(ZB_LOG_ERROR, "zilla-host", msg); }
  void debug(std::string_view msg) { write(ZB_LOG_DEBUG, "zilla-host", msg); }

  // The line write() would print (without the newline), for tests. `now_ms` is Unix time in ms.
  std::string formatLine(zb_log_level level, std::string_view binding, std::string_view msg,
                         int64_t now_ms) const;

 private:
  std::string masked(std::string_view msg) const;

  std::FILE* out_;
  zb_log_level threshold_;
  LogFormat format_;
  std::vector<std::string> secrets_;
  std::mutex mutex_;
};

// True for environment variable names that usually hold secrets (PASSWORD, SECRET, TOKEN, KEY,
// CREDENTIAL, AUTH, PRIVATE, PWD, in any case).
bool looksSecret(std::string_view env_name);

// `text` as the inside of a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD.
std::string jsonEscaped(std::string_view text);

}  // namespace zb::host
