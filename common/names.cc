#include "common/names.h"

#include <string>

namespace aisle {
namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    if (c < 0x80)
      extra = 0;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2)
      extra = 1;
    else if ((c & 0xF0) == 0xE0)
      extra = 2;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
      extra = 3;
    else
      return false;
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\0')
      out += "\\0";
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

Status ValidateBucketName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("bucket name is empty");
  if (name.size() > kMaxBucketNameLen)
    return Status::InvalidArgument("bucket name " + Quote(name) + " is longer than 64 characters");
  if (name == "." || name == "..")
    return Status::InvalidArgument("bucket name " + Quote(name) + " is invalid");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok)
      return Status::InvalidArgument("bucket name " + Quote(name) +
                                     " is invalid: may only contain letters, numbers, dashes (-), "
                                     "underscores (_), and dots (.)");
  }
  return Status::OK();
}

Status ValidateObjectName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("object name is empty");
  if (name.size() > kMaxObjectNameLen)
    return Status::InvalidArgument("object name is longer than 1024 bytes");
  if (name.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("object name " + Quote(name) + " contains NUL");
  if (!ValidUtf8(name)) return Status::InvalidArgument("object name is not valid UTF-8");
  if (name.front() == '/')
    return Status::InvalidArgument("object name " + Quote(name) + " starts with '/'");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view seg = name.substr(start, end - start);
    if (seg == "." || seg == "..")
      return Status::InvalidArgument("object name " + Quote(name) +
                                     " has a '.' or '..' path segment");
    start = end + 1;
  }
  return Status::OK();
}

}  // namespace aisle
