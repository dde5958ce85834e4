#include "server/storage/object_meta.h"

#include <cstring>

#include "common/checksum.h"
#include "server/storage/record_codec.h"

namespace aisle::storage {
namespace {

constexpr char kMagic[8] = {'A', 'I', 'S', 'L', 'O', 'B', 'J', '1'};

std::string EncodeRecord(const ObjectMeta& m) {
  std::string r;
  r.reserve(64 + m.name.size());
  Put64(&r, m.size);
  Put64(&r, m.xxhash);
  Put64(&r, m.version);
  Put64(&r, static_cast<uint64_t>(m.mtime_ns));
  Put64(&r, static_cast<uint64_t>(m.atime_ns));
  PutStr(&r, m.name);
  Put32(&r, static_cast<uint32_t>(m.custom.size()));
  for (const auto& [k, v] : m.custom) {
    PutStr(&r, k);
    PutStr(&r, v);
  }
  return r;
}

size_t RoundUp(size_t n) { return (n + kHeaderAlign - 1) / kHeaderAlign * kHeaderAlign; }

}  // namespace

size_t EncodedHeaderLen(const ObjectMeta& meta) {
  // fixed record part: size, xxhash, version, mtime, atime (5 x 8), name len (4), count (4)
  size_t n = kHeaderFixedLen + 48 + meta.name.size();
  for (const auto& [k, v] : meta.custom) n += 8 + k.size() + v.size();
  return RoundUp(n);
}

std::string EncodeHeader(const ObjectMeta& meta) {
  std::string rec = EncodeRecord(meta);
  size_t total = RoundUp(kHeaderFixedLen + rec.size());
  std::string h;
  h.reserve(total);
  h.append(kMagic, sizeof kMagic);
  Put32(&h, static_cast<uint32_t>(total));
  Put32(&h, static_cast<uint32_t>(rec.size()));
  Put64(&h, Xxh64(rec));
  h.append(rec);
  h.resize(total, '\0');
  return h;
}

Status DecodeHeader(std::string_view prefix, ObjectMeta* meta, uint32_t* header_len,
                    uint32_t* need) {
  *need = 0;
  if (prefix.size() < kHeaderFixedLen || std::memcmp(prefix.data(), kMagic, 8) != 0)
    return Status::DataCorruption("object header: bad magic");
  uint32_t hlen, mlen;
  uint64_t crc;
  std::memcpy(&hlen, prefix.data() + 8, 4);
  std::memcpy(&mlen, prefix.data() + 12, 4);
  std::memcpy(&crc, prefix.data() + 16, 8);
  if (hlen % kHeaderAlign != 0 || hlen > kMaxHeaderLen || mlen > hlen - kHeaderFixedLen)
    return Status::DataCorruption("object header: bad lengths");
  if (prefix.size() < kHeaderFixedLen + mlen) {
    *need = hlen;
    return Status::OK();
  }
  std::string_view rec = prefix.substr(kHeaderFixedLen, mlen);
  if (Xxh64(rec) != crc) return Status::DataCorruption("object header: checksum mismatch");
  RecordReader d(rec);
  uint64_t mt, at, ncustom32;
  uint32_t ncustom;
  if (!d.U64(&meta->size) || !d.U64(&meta->xxhash) || !d.U64(&meta->version) || !d.U64(&mt) ||
      !d.U64(&at) || !d.Str(&meta->name) || !d.U32(&ncustom))
    return Status::DataCorruption("object header: truncated record");
  ncustom32 = ncustom;
  meta->mtime_ns = static_cast<int64_t>(mt);
  meta->atime_ns = static_cast<int64_t>(at);
  meta->custom.clear();
  for (uint64_t i = 0; i < ncustom32; ++i) {
    std::string k, v;
    if (!d.Str(&k) || !d.Str(&v)) return Status::DataCorruption("object header: truncated custom");
    meta->custom.emplace_back(std::move(k), std::move(v));
  }
  *header_len = hlen;
  return Status::OK();
}

}  // namespace aisle::storage
