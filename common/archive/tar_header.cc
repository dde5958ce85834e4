#include "common/archive/tar_header.h"

#include <cstdio>
#include <cstring>

namespace aisle::archive {
namespace {

// width-1 zero-padded octal digits and a NUL; callers keep v within the field.
void Octal(char* field, size_t width, uint64_t v) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
}

std::string Block(std::string_view name, uint64_t size, uint32_t mode, int64_t mtime, char type) {
  char h[512];
  std::memset(h, 0, sizeof h);
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  Octal(h + 100, 8, mode & 07777);
  Octal(h + 108, 8, 0);
  Octal(h + 116, 8, 0);
  Octal(h + 124, 12, size);
  Octal(h + 136, 12, static_cast<uint64_t>(mtime < 0 ? 0 : mtime));
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, sizeof h);
}

// "LEN key=value\n" where LEN counts the whole record, itself included.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  return std::to_string(len) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

}  // namespace

std::string TarFileHeader(std::string_view name, uint64_t size, uint32_t mode, int64_t mtime) {
  bool ascii = true;
  for (char c : name) ascii &= static_cast<unsigned char>(c) < 0x80;
  bool fits = name.size() <= 100 && ascii && size < (uint64_t{1} << 33);
  if (fits) return Block(name, size, mode, mtime, '0');
  std::string pax = PaxRecord("path", name);
  if (size >= (uint64_t{1} << 33)) pax += PaxRecord("size", std::to_string(size));
  std::string out = Block("PaxHeaders/member", pax.size(), 0644, mtime, 'x');
  out += pax;
  out.append(TarPadding(pax.size()), '\0');
  std::string short_name(name.substr(0, 100));
  out += Block(short_name, size >= (uint64_t{1} << 33) ? 0 : size, mode, mtime, '0');
  return out;
}

}  // namespace aisle::archive
