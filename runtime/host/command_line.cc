#include "command_line.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#ifndef ZB_HOST_VERSION
#define ZB_HOST_VERSION "0.0.0"
#endif

namespace zb::host {

namespace {

std::optional<zb_log_level> parseLevel(const std::string& text) {
  if (text == "debug") return ZB_LOG_DEBUG;
  if (text == "info") return ZB_LOG_INFO;
  if (text == "warn") return ZB_LOG_WARN;
  if (text == "error") return ZB_LOG_ERROR;
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 12) {
    return std::nullopt;
  }
  const int64_t number = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "s") return number * 1'000'000'000;
  if (unit == "ms") return number * 1'000'000;
  if (unit == "m") return number * 60'000'000'000;
  return std::nullopt;
}

std::string usageText() {
  return "Usage: zilla-host <command> [options]\n"
         "\n"
         "Commands:\n"
         "  start      validate zilla.yaml, load the bindings it uses and run them until\n"
         "             SIGINT or SIGTERM; a change of the file (or SIGHUP) reloads it\n"
         "  validate   validate zilla.yaml and the bindings' own schemas, then exit\n"
         "\n"
         "Options:\n"
         "  -c, --config FILE        the config file (default: zilla.yaml)\n"
         "  --plugins DIR            load binding plugins from DIR (repeatable); also\n"
         "                           ZILLA_PLUGIN_PATH=DIR:DIR; default: <exe dir>/../bindings\n"
         "                           and <exe dir>/bindings\n"
         "  --log-level LEVEL        debug, info (default), warn or error (start)\n"
         "  -v, --verbose            the same as --log-level debug\n"
         "  --log-format FORMAT      json (default: one JSON object per line) or text (start)\n"
         "  --drain-timeout TIME     how long in-flight work may finish after a stop signal,\n"
         "                           or a binding a reload replaces, e.g. 10s (default),\n"
         "                           500ms, 1m (start)\n"
         "  --no-watch               do not reload the config when its file changes; SIGHUP\n"
         "                           still reloads it (start)\n"
         "  -h, --help               this text\n"
         "  --version                the version of zilla-host and of its binding ABI\n"
         "\n"
         "Exit codes: 0 clean, 1 invalid config, 2 usage, 3 plugin load failure,\n"
         "4 runtime failure, 128+N after a second signal N.\n";
}

std::string versionText() {
  return std::string("zilla-host ") + ZB_HOST_VERSION + " (binding ABI " +
         std::to_string(ZB_ABI_MAJOR) + "." + std::to_string(ZB_ABI_MINOR) + ")\n";
}

std::optional<CommandLine> parseCommandLine(const std::vector<std::string>& args,
                                            std::string& error) {
  CommandLine line;
  bool have_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.rfind("--", 0) == 0) {
      const size_t equals = arg.find('=');
      if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
        arg = arg.substr(0, equals);
        has_inline_value = true;
      }
    }
    auto takeValue = [&]() -> bool {
      if (has_inline_value) {
        return true;
      }
      if (i + 1 >= args.size()) {
        error = arg + " needs a value";
        return false;
      }
      value = args[++i];
      return true;
    };

    if (arg == "-h" || arg == "--help") {
      line.command = Command::kHelp;
      return line;
    }
    if (arg == "--version") {
      line.command = Command::kVersion;
      return line;
    }
    if (arg == "-c" || arg == "--config") {
      if (!takeValue()) return std::nullopt;
      line.config_path = value;
    } else if (arg == "--plugins") {
      if (!takeValue()) return std::nullopt;
      line.plugin_dirs.push_back(value);
    } else if (arg == "-v" || arg == "--verbose") {
      line.log_level = ZB_LOG_DEBUG;
    } else if (arg == "--log-level") {
      if (!takeValue()) return std::nullopt;
      const std::optional<zb_log_level> level = parseLevel(value);
      if (!level) {
        error = "--log-level must be one of: debug, info, warn, error";
        return std::nullopt;
      }
      line.log_level = *level;
    } else if (arg == "--log-format") {
      if (!takeValue()) return std::nullopt;
      if (value == "json") {
        line.log_format = LogFormat::kJson;
      } else if (value == "text") {
        line.log_format = LogFormat::kText;
      } else {
        error = "--log-format must be one of: json, text";
        return std::nullopt;
      }
    } else if (arg == "--no-watch") {
      line.watch_config = false;
    } else if (arg == "--drain-timeout") {
      if (!takeValue()) return std::nullopt;
      const std::optional<int64_t> duration = parseDuration(value);
      if (!duration) {
        error = "--drain-timeout must be a duration such as 10s, 500ms or 1m";
        return std::nullopt;
      }
      line.drain_timeout_ns = *duration;
    } else if (!arg.empty() && arg[0] == '-') {
      error = "unknown option " + arg;
      return std::nullopt;
    } else if (!have_command && (arg == "start" || arg == "validate")) {
      line.command = arg == "start" ? Command::kStart : Command::kValidate;
      have_command = true;
    } else {
      error = have_command ? "unexpected argument " + arg : "unknown command " + arg;
      return std::nullopt;
    }
  }
  if (!have_command) {
    error = "a command is required: start or validate";
    return std::nullopt;
  }
  return line;
}

std::vector<std::string> pluginDirectories(const std::vector<std::string>& from_options,
                                           const char* plugin_path_env,
                                           const std::string& executable_dir) {
  std::vector<std::string> given = from_options;
  if (plugin_path_env != nullptr) {
    const std::string path = plugin_path_env;
    size_t start = 0;
    while (start <= path.size()) {
      const size_t colon = std::min(path.find(':', start), path.size());
      if (colon > start) {
        given.push_back(path.substr(start, colon - start));
      }
      start = colon + 1;
    }
  }
  if (given.empty() && !executable_dir.empty()) {
    given = {executable_dir + "/../bindings", executable_dir + "/bindings"};
#if defined(ZB_HOST_BUILD_DIR) && defined(ZB_BUILD_BINDINGS_DIR)
    // Run from the build tree, zilla-host is in <build>/runtime/host and the bindings are in
    // <build>/bindings.
    std::error_code ec;
    if (std::filesystem::equivalent(executable_dir, ZB_HOST_BUILD_DIR, ec)) {
      given.insert(given.begin(), ZB_BUILD_BINDINGS_DIR);
    }
#endif
  }
  std::vector<std::string> dirs;
  for (const std::string& dir : given) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
    const std::string normal =
        (ec ? std::filesystem::path(dir) : absolute).lexically_normal().generic_string();
    std::string trimmed = normal;
    while (trimmed.size() > 1 && trimmed.back() == '/') {
      trimmed.pop_back();
    }
    if (std::find(dirs.begin(), dirs.end(), trimmed) == dirs.end()) {
      dirs.push_back(trimmed);
    }
  }
  return dirs;
}

std::string executableDirectory() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().generic_string();
}

}  // namespace zb::host
