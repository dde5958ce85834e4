// Logging: spdlog, leveled, to stderr (and the last lines kept in memory for GET
// /v1/daemon?what=log), as text or as one JSON object per line. Include only from .cc files.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aisle {

// level: trace|debug|info|warn|error|off. Unknown levels fall back to info.
// format: "text" (default) or "json": {"ts","level","node","msg"[,"req"][,access fields]}.
void InitLogging(std::string_view level, std::string_view node_name,
                 std::string_view format = "text");

// JSON format: names the node in later lines ("node"), once its ID is known; call before
// serving (it replaces the formatter).
void SetJsonLogNode(std::string_view node_name);

// The default logger's most recent formatted lines (at most `limit`, oldest first); empty when
// InitLogging was not called (tests).
std::vector<std::string> RecentLogLines(size_t limit);

// Tags this thread's log lines with a request ID (JSON "req") while in scope. The request
// front handler (server/api/request_log.h) sets it for the duration of one request; it is
// thread_local, so work the request hands to other threads logs without it.
class ScopedLogRequest {
 public:
  explicit ScopedLogRequest(const std::string& request_id);
  ~ScopedLogRequest();
  ScopedLogRequest(const ScopedLogRequest&) = delete;
  ScopedLogRequest& operator=(const ScopedLogRequest&) = delete;

 private:
  const std::string* prev_;
};

// One access-log line at info level; in JSON it carries the fields as keys too.
struct AccessEntry {
  std::string_view method;
  std::string_view path;
  int status = 0;
  int64_t bytes = -1;  // response body bytes; -1: not known up front (a stream)
  double ms = 0;       // handler time
  std::string_view remote;
};
void LogAccess(const AccessEntry& e);

}  // namespace aisle
