// Finding an ETL's processes: programs run with their ETL's work dir as cwd, so /proc tells
// which processes belong to which ETL — for metrics, and for killing programs a crashed target
// left behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aisle::etl {

// Processes (other than this one) whose cwd is `dir` or below it.
std::vector<pid_t> ProcessesUnder(const std::string& dir);

struct ProcessUsage {
  int processes = 0;
  double cpu_seconds = 0;  // user + system, since each process started
  uint64_t rss_bytes = 0;
};
ProcessUsage UsageOf(const std::vector<pid_t>& pids);

}  // namespace aisle::etl
