#include "common/checksum.h"

#define XXH_STATIC_LINKING_ONLY  // XXH64_state_t's size, to save and restore it
#include <xxhash.h>

#include <cstdio>
#include <cstring>

namespace aisle {

Xxh64Stream::Xxh64Stream(uint64_t seed) : state_(XXH64_createState()) {
  XXH64_reset(static_cast<XXH64_state_t*>(state_), seed);
}
Xxh64Stream::~Xxh64Stream() { XXH64_freeState(static_cast<XXH64_state_t*>(state_)); }
void Xxh64Stream::Update(const void* data, size_t n) {
  XXH64_update(static_cast<XXH64_state_t*>(state_), data, n);
}
uint64_t Xxh64Stream::Digest() const {
  return XXH64_digest(static_cast<const XXH64_state_t*>(state_));
}

// Layout: u32 XXH_versionNumber(), then the raw XXH64_state_t.
std::string Xxh64Stream::SaveState() const {
  uint32_t v = XXH_versionNumber();
  std::string out(sizeof v + sizeof(XXH64_state_t), '\0');
  std::memcpy(out.data(), &v, sizeof v);
  std::memcpy(out.data() + sizeof v, state_, sizeof(XXH64_state_t));
  return out;
}

bool Xxh64Stream::LoadState(std::string_view s) {
  uint32_t v = 0;
  if (s.size() != sizeof v + sizeof(XXH64_state_t)) return false;
  std::memcpy(&v, s.data(), sizeof v);
  if (v != XXH_versionNumber()) return false;
  std::memcpy(state_, s.data() + sizeof v, sizeof(XXH64_state_t));
  return true;
}

uint64_t Xxh64(std::string_view data, uint64_t seed) {
  return XXH64(data.data(), data.size(), seed);
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

bool ParseHex64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace aisle
