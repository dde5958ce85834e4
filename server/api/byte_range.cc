#include "server/api/byte_range.h"

#include <algorithm>
#include <limits>
#include <string>

namespace aisle::api {
namespace {

// A run of digits, saturated at UINT64_MAX: a number of any length is still a number (RFC 9110),
// and no object is that large, so an end past it clamps like any other end past the object.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  for (char c : s) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  *out = v;
  return true;
}

// a < b for two digit runs of any length (saturated values cannot tell two huge ones apart).
bool DecimalLess(std::string_view a, std::string_view b) {
  a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// The range set of a "bytes=..." header without spaces; nullopt for another unit.
std::optional<std::string> RangeSet(std::string_view header) {
  std::string h(header);
  h.erase(std::remove(h.begin(), h.end(), ' '), h.end());
  if (h.rfind("bytes=", 0) != 0) return std::nullopt;
  return h.substr(6);
}

}  // namespace

Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size,
                                            MultiRange multi, std::string_view unsatisfiable) {
  using R = std::optional<ByteRange>;
  std::optional<std::string> set = RangeSet(header);
  if (!set) return R();
  const std::string& h = *set;
  if (h.find(',') != std::string::npos) {
    if (multi == MultiRange::kServeWhole) return R();
    return Status::RangeNotSatisfiable("multi-range requests are not supported");
  }
  size_t dash = h.find('-');
  if (dash == std::string::npos) return R();
  auto parse = ParseDecimal;
  std::string_view a = std::string_view(h).substr(0, dash),
                   b = std::string_view(h).substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last `last` bytes
    if (!parse(b, &last)) return R();
    if (last == 0 || size == 0) return Status::RangeNotSatisfiable(std::string(unsatisfiable));
    uint64_t n = std::min(last, size);
    return R(ByteRange{size - n, n});
  }
  if (!parse(a, &first)) return R();
  if (!b.empty() && (!parse(b, &last) || DecimalLess(b, a))) return R();  // invalid: ignore
  if (first >= size) return Status::RangeNotSatisfiable(std::string(unsatisfiable));
  uint64_t end = b.empty() ? size - 1 : std::min(last, size - 1);
  return R(ByteRange{first, end - first + 1});
}

std::optional<ByteRange> ParseClosedRange(std::string_view header, uint64_t size) {
  std::optional<std::string> set = RangeSet(header);
  if (!set) return std::nullopt;
  size_t dash = set->find('-');
  if (dash == std::string::npos) return std::nullopt;
  uint64_t first = 0, last = 0;
  if (!ParseDecimal(std::string_view(*set).substr(0, dash), &first) ||
      !ParseDecimal(std::string_view(*set).substr(dash + 1), &last) || last < first || last >= size)
    return std::nullopt;
  return ByteRange{first, last - first + 1};
}

Result<ByteRange> ApplyRange(const Request& req, Response& resp, uint64_t size, MultiRange multi,
                             const std::function<void(const Status&)>& write_error,
                             std::string_view unsatisfiable) {
  std::string header = req.headers.Get("Range");
  if (header.empty()) return ByteRange{0, size};
  auto parsed = ParseRange(header, size, multi, unsatisfiable);
  if (!parsed.ok()) {
    write_error(parsed.status());
    resp.headers.Set("Content-Range", "bytes */" + std::to_string(size));
    return parsed.status();
  }
  if (!*parsed) return ByteRange{0, size};
  const ByteRange& r = **parsed;
  resp.status = 206;
  resp.headers.Set("Content-Range", "bytes " + std::to_string(r.start) + "-" +
                                        std::to_string(r.start + r.length - 1) + "/" +
                                        std::to_string(size));
  return r;
}

}  // namespace aisle::api
