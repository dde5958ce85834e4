// libFuzzer target for Range headers (native GET, S3 GET and copy-source ranges): the first 8
// bytes are the object size, the rest the header. Every satisfiable range must lie inside the
// object. Built and run by scripts/fuzz.sh, not in CI.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "server/api/byte_range.h"

using namespace aisle::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t object_size;
  std::memcpy(&object_size, data, 8);
  object_size %= (uint64_t{1} << 50);
  std::string_view header(reinterpret_cast<const char*>(data) + 8, size - 8);
  for (MultiRange m : {MultiRange::kRefuse, MultiRange::kServeWhole}) {
    auto r = ParseRange(header, object_size, m);
    if (r.ok() && r->has_value()) {
      const ByteRange& br = **r;
      if (br.start > object_size || br.length > object_size - br.start) __builtin_trap();
    }
  }
  auto c = ParseClosedRange(header, object_size);
  if (c && (c->start > object_size || c->length > object_size - c->start)) __builtin_trap();
  return 0;
}
