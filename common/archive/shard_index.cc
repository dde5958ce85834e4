#include "common/archive/shard_index.h"

#include <algorithm>
#include <cstring>

#include "common/checksum.h"

namespace aisle::archive {
namespace {

constexpr char kMagic[8] = {'A', 'I', 'S', 'L', 'S', 'I', 'D', 'X'};
constexpr uint32_t kVersion = 1;

class Writer {
 public:
  void U8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void Str(std::string_view v) {
    U32(static_cast<uint32_t>(v.size()));
    s_.append(v);
  }
  void Raw(const void* p, size_t n) { s_.append(static_cast<const char*>(p), n); }  // LE hosts
  std::string& str() { return s_; }

 private:
  std::string s_;
};

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool I64(int64_t* v) { return Raw(v, 8); }
  bool Str(std::string* v, size_t max) {
    uint32_t n;
    if (!U32(&n) || n > max || n > d_.size() - pos_) return false;
    v->assign(d_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Raw(void* p, size_t n) {
    if (d_.size() - pos_ < n) return false;
    std::memcpy(p, d_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return d_.size() - pos_; }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

}  // namespace

uint8_t CheckMemberName(std::string_view name) {
  uint8_t f = 0;
  if (name.empty()) f |= kNameEmpty;
  if (name.find('\0') != std::string_view::npos) f |= kNameNul;
  if (!name.empty() &&
      (name[0] == '/' || name[0] == '\\' ||
       (name.size() >= 2 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0])))))
    f |= kNameAbsolute;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") f |= kNameDotDot;
    start = end + 1;
  }
  return f;
}

std::string DescribeNameFlags(uint8_t flags) {
  std::string out;
  auto add = [&](uint8_t bit, const char* text) {
    if (!(flags & bit)) return;
    if (!out.empty()) out += ", ";
    out += text;
  };
  add(kNameAbsolute, "absolute path");
  add(kNameDotDot, "'..' path segment");
  add(kNameNul, "NUL byte in name");
  add(kNameEmpty, "empty name");
  return out;
}

void ShardIndex::Finalize() {
  by_name_.clear();
  by_name_.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) by_name_[members[i].name] = static_cast<uint32_t>(i);
}

const Member* ShardIndex::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &members[it->second];
}

const SeekPoint* ShardIndex::PointFor(uint64_t out) const {
  auto it = std::upper_bound(points.begin(), points.end(), out,
                             [](uint64_t v, const SeekPoint& p) { return v < p.out; });
  if (it == points.begin()) return nullptr;
  return &*std::prev(it);
}

size_t ShardIndex::MemoryBytes() const {
  size_t n = sizeof(*this);
  for (const auto& m : members) n += sizeof(Member) + m.name.size() + 32;  // + map node
  for (const auto& p : points) n += sizeof(SeekPoint) + p.window.size();
  return n;
}

std::string ShardIndex::Encode() const {
  Writer w;
  w.Raw(kMagic, 8);
  w.U32(kVersion);
  w.U8(static_cast<uint8_t>(format));
  w.U64(tag.version);
  w.U64(tag.xxhash);
  w.U64(tag.size);
  w.U64(static_cast<uint64_t>(tag.mtime_ns));
  w.U64(end_of_entries);
  w.U64(stream_size);
  w.U64(members.size());
  for (const auto& m : members) {
    w.Str(m.name);
    w.U64(m.offset);
    w.U64(m.size);
    w.U64(m.csize);
    w.U64(m.header_offset);
    w.U64(static_cast<uint64_t>(m.mtime));
    w.U32(m.mode);
    w.U32(m.crc32);
    w.U8(static_cast<uint8_t>(m.type));
    w.U8(m.method);
    w.U8(m.name_flags);
  }
  w.U64(points.size());
  for (const auto& p : points) {
    w.U64(p.out);
    w.U64(p.in);
    w.U8(p.bits);
    w.Str(p.window);
  }
  uint64_t sum = Xxh64(w.str());
  w.U64(sum);
  return std::move(w.str());
}

Result<ShardIndex> ShardIndex::Decode(std::string_view data) {
  auto bad = [](const char* why) {
    return Status::DataCorruption(std::string("shard index: ") + why);
  };
  if (data.size() < 8 + 4 + 8) return bad("too short");
  uint64_t sum;
  std::memcpy(&sum, data.data() + data.size() - 8, 8);
  if (Xxh64(data.substr(0, data.size() - 8)) != sum) return bad("checksum mismatch");
  Reader r(data.substr(0, data.size() - 8));
  char magic[8];
  uint32_t version;
  if (!r.Raw(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return bad("bad magic");
  if (!r.U32(&version) || version != kVersion) return bad("unsupported version");
  ShardIndex idx;
  uint8_t fmt;
  uint64_t count, mt;
  if (!r.U8(&fmt) || !r.U64(&idx.tag.version) || !r.U64(&idx.tag.xxhash) || !r.U64(&idx.tag.size) ||
      !r.U64(&mt) || !r.U64(&idx.end_of_entries) || !r.U64(&idx.stream_size) || !r.U64(&count))
    return bad("truncated header");
  idx.format = static_cast<Format>(fmt);
  idx.tag.mtime_ns = static_cast<int64_t>(mt);
  if (count > r.remaining() / 40) return bad("member count exceeds data");
  idx.members.resize(count);
  for (auto& m : idx.members) {
    uint8_t type;
    if (!r.Str(&m.name, 1 << 20) || !r.U64(&m.offset) || !r.U64(&m.size) || !r.U64(&m.csize) ||
        !r.U64(&m.header_offset) || !r.I64(&m.mtime) || !r.U32(&m.mode) || !r.U32(&m.crc32) ||
        !r.U8(&type) || !r.U8(&m.method) || !r.U8(&m.name_flags))
      return bad("truncated member");
    m.type = static_cast<MemberType>(type);
  }
  if (!r.U64(&count) || count > r.remaining() / 21) return bad("bad seek point count");
  idx.points.resize(count);
  for (auto& p : idx.points) {
    if (!r.U64(&p.out) || !r.U64(&p.in) || !r.U8(&p.bits) || !r.Str(&p.window, 1 << 16))
      return bad("truncated seek point");
  }
  idx.Finalize();
  return idx;
}

}  // namespace aisle::archive
