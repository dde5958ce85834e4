#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace aisle {
namespace {

std::string FormatUtc(int64_t unix_ns, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HttpDate(int64_t unix_ns) { return FormatUtc(unix_ns, "%a, %d %b %Y %H:%M:%S GMT"); }
std::string Rfc822(int64_t unix_ns) { return FormatUtc(unix_ns, "%d %b %y %H:%M UTC"); }

std::string Rfc3339(int64_t unix_ns) {
  if (unix_ns == 0) return "0001-01-01T00:00:00Z";
  return FormatUtc(unix_ns, "%Y-%m-%dT%H:%M:%SZ");
}

int64_t ParseHttpDate(const std::string& s) {
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y",
        "%a, %d %b %Y %H:%M:%S", "%d %b %y %H:%M UTC", "%d %b %y %H:%M"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), fmt, &tm);
    if (end && *end == '\0') return static_cast<int64_t>(timegm(&tm));
  }
  return -1;
}

std::string Iso8601Ms(int64_t unix_ns) {
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>((unix_ns / 1000000) % 1000));
  return FormatUtc(unix_ns, "%Y-%m-%dT%H:%M:%S") + ms;
}

}  // namespace aisle
