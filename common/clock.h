// Wall-clock time and its text forms, defined once: nanoseconds since the Unix epoch (what
// object metadata, job records and cluster maps store) and the date formats the APIs send.
#pragma once

#include <cstdint>
#include <string>

namespace aisle {

// Now, in nanoseconds since the Unix epoch (system clock).
int64_t NowNs();
// RFC 1123, as HTTP's Date and Last-Modified: "Mon, 07 Dec 2026 15:47:52 GMT".
std::string HttpDate(int64_t unix_ns);
// RFC 822 as AIStore's list entries show it: "07 Dec 26 15:47 UTC".
std::string Rfc822(int64_t unix_ns);
// RFC 3339 in seconds, as AIStore's job snapshots: "2026-12-07T15:47:52Z" (0 -> Go's zero time).
std::string Rfc3339(int64_t unix_ns);
// RFC 1123 / RFC 850 / asctime dates (HTTP's three forms; a trailing "GMT" optional) and
// RFC 822 list dates ("07 Dec 26 15:47") -> seconds since the epoch; -1 when unparsable.
int64_t ParseHttpDate(const std::string& s);
// ISO 8601 with milliseconds, as S3's XML: "2026-12-07T15:47:52.123Z".
std::string Iso8601Ms(int64_t unix_ns);

}  // namespace aisle
