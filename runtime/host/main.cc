// zilla-host: reads zilla.yaml, validates it, loads the binding plugins it names and runs them.
#include "command_line.h"
#include "host.h"
#include "stop_signals.h"

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace zb::host;
  // Before anything can start a thread: SIGINT/SIGTERM are read by the watcher thread only.
  std::string error;
  if (!StopSignals::block(error)) {
    std::fprintf(stderr, "zilla-host: %s\n", error.c_str());
    return kExitRuntime;
  }
  // A peer closing a socket must not kill the process; writes report EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);

  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::optional<CommandLine> line = parseCommandLine(args, error);
  if (!line) {
    std::fprintf(stderr, "zilla-host: %s\n\n%s", error.c_str(), usageText().c_str());
    return kExitUsage;
  }
  switch (line->command) {
    case Command::kHelp:
      std::fputs(usageText().c_str(), stdout);
      return kExitOk;
    case Command::kVersion:
      std::fputs(versionText().c_str(), stdout);
      return kExitOk;
    case Command::kValidate:
      return runValidate(*line, stdout, stderr);
    case Command::kStart:
      return runStart(*line, stdout, stderr);
  }
  return kExitUsage;
}
