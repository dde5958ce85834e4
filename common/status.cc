#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace aisle {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kConflict:
      return "Conflict";
    case StatusCode::kRangeNotSatisfiable:
      return "RangeNotSatisfiable";
    case StatusCode::kTooLarge:
      return "TooLarge";
    case StatusCode::kNoSpace:
      return "NoSpace";
    case StatusCode::kUnsupported:
      return "Unsupported";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kTimeout:
      return "Timeout";
    case StatusCode::kDataCorruption:
      return "DataCorruption";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return NoSpace(std::move(msg));
    case ENOENT:
      return NotFound(std::move(msg));
    case EFBIG:
      return TooLarge(std::move(msg));
    case ETIMEDOUT:
      return Timeout(std::move(msg));
    default:
      return IOError(std::move(msg));
  }
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace aisle
