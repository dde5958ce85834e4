// HTTP single-range requests ("bytes=a-b", "a-", "-n"), shared by the native and S3 APIs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "server/api/http_types.h"

namespace aisle::api {

struct ByteRange {
  uint64_t start = 0;
  uint64_t length = 0;
};

// What to do with "bytes=a-b,c-d": AIStore refuses it (416), S3 serves the whole object.
enum class MultiRange { kRefuse, kServeWhole };

// Parses a Range header against an object of `size` bytes. nullopt = serve everything (no
// header, another unit, or a malformed one - a non-digit position, no dash, last < first -
// which RFC 9110 says to ignore); kRangeNotSatisfiable (with `unsatisfiable` as its message)
// for a first byte past the end. Positions are digit runs of any length: an end past the
// object (however many digits) is clamped to its last byte, and a suffix longer than the
// object selects all of it, both served as 206.
Result<std::optional<ByteRange>> ParseRange(
    std::string_view header, uint64_t size, MultiRange multi,
    std::string_view unsatisfiable = "range not satisfiable");

// "bytes=first-last" with both ends given and inside an object of `size` bytes (S3's
// x-amz-copy-source-range); nullopt for anything else.
std::optional<ByteRange> ParseClosedRange(std::string_view header, uint64_t size);

// Applies the request's Range header to a body of `size` bytes. A satisfiable range sets 206
// and Content-Range and is returned; no (or an ignorable) header returns {0, size}. An
// unsatisfiable one is written by `write_error`, gets "Content-Range: bytes */size", and its
// Status is returned (the caller just returns).
Result<ByteRange> ApplyRange(const Request& req, Response& resp, uint64_t size, MultiRange multi,
                             const std::function<void(const Status&)>& write_error,
                             std::string_view unsatisfiable = "range not satisfiable");

}  // namespace aisle::api
