// Starting a child process from the CLI with its output in a log file (`aisle up`'s nodes, the
// openssl runs of `aisle up --tls`).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace aisle::cli {

struct SpawnOptions {
  bool new_session = false;  // setsid(): the child outlives the CLI's terminal
  mode_t log_mode = 0644;    // the log file's mode when it is created
};

// Forks and execs args[0] (PATH search) with stdin from /dev/null and stdout/stderr appended to
// `log`; returns the child's pid (a failed exec exits 127 with the reason in the log).
Result<pid_t> SpawnLogged(const std::vector<std::string>& args, const std::string& log,
                          const SpawnOptions& opts = {});

}  // namespace aisle::cli
