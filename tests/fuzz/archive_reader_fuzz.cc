// libFuzzer target for the shard readers: index build + every member read + index round trip,
// for the format chosen at compile time (-DFUZZ_FORMAT=1..5, archive::Format), or the sidecar
// decoder (-DFUZZ_FORMAT=0). Built and run by scripts/fuzz.sh (clang), not in CI.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"

using namespace aisle::archive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (FUZZ_FORMAT == 0) {
    (void)ShardIndex::Decode(bytes);
    return 0;
  }
  MemorySource src(bytes);
  Limits lim;
  lim.max_members = 10000;
  lim.max_uncompressed = 64 << 20;  // keeps each run short; bombs must stop here
  lim.seek_span = 64 << 10;
  auto idx = BuildIndex(src, static_cast<Format>(FUZZ_FORMAT), lim);
  if (!idx.ok()) return 0;
  uint64_t budget = 64 << 20;
  for (const auto& m : idx->members) {
    uint64_t n = m.size < budget ? m.size : budget;
    budget -= n;
    (void)ReadMember(
        src, *idx, m, 0, n, [](std::string_view) { return aisle::Status::OK(); }, lim);
    if (m.size > 2)
      (void)ReadMember(
          src, *idx, m, 1, 1, [](std::string_view) { return aisle::Status::OK(); }, lim);
  }
  auto back = ShardIndex::Decode(idx->Encode());
  if (!back.ok() || back->members.size() != idx->members.size()) __builtin_trap();
  return 0;
}
