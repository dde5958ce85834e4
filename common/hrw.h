// Highest-random-weight placement computed exactly as AIStore does (core/meta/hrw.go),
// so clients that compute owners themselves agree with us.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aisle {

constexpr uint64_t kHrwSeed = 1103515245;  // AIStore's MLCG32

// XXH64(data, seed=1103515245): the digest of an object uname or a node/mountpath ID.
uint64_t HrwDigest(std::string_view data);
// xoshiro256 finaliser over id_digest ^ name_digest; the highest score wins.
uint64_t HrwScore(uint64_t id_digest, uint64_t name_digest);
// "ais/@#/<bucket>/<object>": the name AIStore hashes for placement.
std::string MakeUname(std::string_view bucket, std::string_view object);

}  // namespace aisle
