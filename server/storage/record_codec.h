// The storage layer's binary records (object headers, append undo records): fixed-width
// integers in host byte order and 32-bit length-prefixed strings, written with Put* and read
// back with a bounds-checked RecordReader.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace aisle::storage {

inline void Put32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
inline void Put64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutStr(std::string* s, std::string_view v) {
  Put32(s, static_cast<uint32_t>(v.size()));
  s->append(v);
}

// Every read is false (and reads nothing) when the record is too short for it.
class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool Str(std::string* v) {
    uint32_t n;
    if (!U32(&n) || n > in_.size() - pos_) return false;
    v->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  bool Raw(void* v, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(v, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace aisle::storage
