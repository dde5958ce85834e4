// Checksums: XXH64 seed 0 (AIStore's "xxhash" type), hex as AIStore prints it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace aisle {

// Streaming XXH64 (seed 0 unless given).
class Xxh64Stream {
 public:
  explicit Xxh64Stream(uint64_t seed = 0);
  ~Xxh64Stream();
  Xxh64Stream(const Xxh64Stream&) = delete;
  Xxh64Stream& operator=(const Xxh64Stream&) = delete;
  void Update(const void* data, size_t n);
  uint64_t Digest() const;
  // The hashing state as bytes, to continue later (e.g. the next in-place append of a shard
  // hashes only its new bytes). Tied to the xxhash library version that saved it.
  std::string SaveState() const;
  // Restores a SaveState() result; false (state unchanged) if s is not one from this version.
  bool LoadState(std::string_view s);

 private:
  void* state_;  // XXH64_state_t*, kept opaque so xxhash.h stays out of our headers
};

uint64_t Xxh64(std::string_view data, uint64_t seed = 0);
// 16 lowercase hex digits, big-endian (Go's hash.Sum), as AIStore reports "xxhash" values.
std::string Hex64(uint64_t v);
// Parses what Hex64 prints; false on anything else.
bool ParseHex64(std::string_view s, uint64_t* out);

}  // namespace aisle
