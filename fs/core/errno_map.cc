#include "fs/core/errno_map.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace aisle::fs {
namespace {
// ErrnoStatus messages start with this tag followed by the number and '|'.
constexpr std::string_view kTag = "errno:";
}  // namespace

Status ErrnoStatus(int err, std::string_view what) {
  std::string msg(kTag);
  msg += std::to_string(err);
  msg += '|';
  msg += what;
  msg += ": ";
  msg += std::strerror(err);
  return Status(StatusCode::kInternal, std::move(msg));
}

int ToErrno(const Status& st) {
  if (st.ok()) return 0;
  const std::string& m = st.message();
  // The tag may follow context added by WithContext().
  if (size_t at = m.find(kTag); at != std::string::npos) {
    int e = std::atoi(m.c_str() + at + kTag.size());
    if (e > 0) return e;
  }
  switch (st.code()) {
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kConflict:
      return EBUSY;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kRangeNotSatisfiable:
      return EINVAL;
    case StatusCode::kTooLarge:
      return EFBIG;
    case StatusCode::kNoSpace:
      return ENOSPC;
    case StatusCode::kUnsupported:
      return ENOTSUP;
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kDataCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
    default:
      return EIO;
  }
}

}  // namespace aisle::fs
