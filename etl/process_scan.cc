#include "etl/process_scan.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace aisle::etl {

std::vector<pid_t> ProcessesUnder(const std::string& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  std::string root = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec || root.empty() || root == "/") return out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid_s = entry.path().filename().string();
    if (pid_s.empty() || pid_s.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code rec;
    std::string cwd = std::filesystem::read_symlink(entry.path() / "cwd", rec).string();
    if (rec || (cwd != root && cwd.rfind(root + "/", 0) != 0)) continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_s));
    if (pid != ::getpid()) out.push_back(pid);
  }
  return out;
}

ProcessUsage UsageOf(const std::vector<pid_t>& pids) {
  ProcessUsage u;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  for (pid_t pid : pids) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;  // gone meanwhile
    // Fields after the command name (which may hold spaces) start at ") ".
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string f;
    std::vector<std::string> fields;
    while (rest >> f) fields.push_back(f);
    // fields[0] is field 3 (state): utime = 14, stime = 15, rss = 24 (in pages).
    if (fields.size() < 22) continue;
    u.processes++;
    u.cpu_seconds += (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    u.rss_bytes += std::stoull(fields[21]) * page;
  }
  return u;
}

}  // namespace aisle::etl
