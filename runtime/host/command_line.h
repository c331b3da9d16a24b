// The zilla-host command line: `start` and `validate`, their options, and the exit codes.
#pragma once

#include <zb/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zb::host {

// Process exit codes (docs/operations.md). A second SIGINT/SIGTERM exits with 128 + signal.
enum ExitCode : int {
  kExitOk = 0,
  kExitInvalidConfig = 1,  // the config cannot be read or is invalid; every problem is printed
  kExitUsage = 2,          // the command line is wrong
  kExitPluginLoad = 3,     // a binding plugin exists but cannot be loaded or is unusable
  kExitRuntime = 4,        // the engine failed: a binding refused to be created, a port is taken
};

enum class Command { kStart, kValidate, kHelp, kVersion };
enum class LogFormat { kJson, kText };

struct CommandLine {
  Command command = Command::kHelp;
  std::string config_path = "zilla.yaml";
  std::vector<std::string> plugin_dirs;  // --plugins, in the order given
  zb_log_level log_level = ZB_LOG_INFO;
  LogFormat log_format = LogFormat::kJson;
  int64_t drain_timeout_ns = 10'000'000'000;
  bool watch_config = true;  // --no-watch turns it off
};

// Parses argv[1..]. Returns nullopt with `error` set on a usage error.
std::optional<CommandLine> parseCommandLine(const std::vector<std::string>& args,
                                            std::string& error);

// "10s", "500ms", "2m", or a plain number of seconds; nullopt when it is none of these.
std::optional<int64_t> parseDuration(const std::string& text);

std::string usageText();
std::string versionText();

// The directories binding plugins load from: --plugins, then ZILLA_PLUGIN_PATH (colon-separated)
// when either is given; otherwise <exe dir>/../bindings and <exe dir>/bindings, preceded by
// <build>/bindings when the executable is the one in the build tree. Absolute, normalized,
// without duplicates.
std::vector<std::string> pluginDirectories(const std::vector<std::string>& from_options,
                                           const char* plugin_path_env,
                                           const std::string& executable_dir);

// The directory of the running executable (from /proc/self/exe), or "" when unknown.
std::string executableDirectory();

}  // namespace zb::host
