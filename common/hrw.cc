#include "common/hrw.h"

#include <xxhash.h>

namespace aisle {

uint64_t HrwDigest(std::string_view data) { return XXH64(data.data(), data.size(), kHrwSeed); }

uint64_t HrwScore(uint64_t id_digest, uint64_t name_digest) {
  uint64_t z = (id_digest ^ name_digest) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z = (z ^ (z >> 31)) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z = (z ^ (z >> 31)) * 5;
  z = (z << 7) | (z >> 57);
  return z * 9;
}

std::string MakeUname(std::string_view bucket, std::string_view object) {
  std::string u;
  u.reserve(8 + bucket.size() + object.size());
  u.append("ais/@#/").append(bucket).append("/").append(object);
  return u;
}

}  // namespace aisle
