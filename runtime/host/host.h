// The zilla-host commands: validate and start.
#pragma once

#include "command_line.h"

#include <cstdio>

namespace zb::host {

// Prints each problem (or "<file> is valid") and returns an ExitCode. Thread: control.
int runValidate(const CommandLine& line, std::FILE* out, std::FILE* err);

// Validates, builds the engine, runs it until SIGINT/SIGTERM, drains, returns an ExitCode. The
// caller has blocked SIGINT and SIGTERM (StopSignals::block) before starting any thread.
// Thread: control (it becomes the engine thread).
int runStart(const CommandLine& line, std::FILE* out, std::FILE* err);

}  // namespace zb::host
