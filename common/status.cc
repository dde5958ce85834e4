#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace aisle {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kConflict: return "Conflict";
    case StatusCode::kRangeNotSatisfiable: return "RangeNotSatisfiable";
    case StatusCode::kTooLarge: return "TooLarge";
    case StatusCode::kNoSpace: return "NoSpace";
    case StatusCode::kUnsupported: return "Unsupported";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kTimeout: return "Timeout";
    case StatusCode::kDataCorruption: return "DataCorruption";
    case StatusCode::kIOError: return "IOError";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

const char* SubjectName(Subject subject) {
  switch (subject) {
    case Subject::kNone: return "none";
    case Subject::kBucket: return "bucket";
    case Subject::kObject: return "object";
    case Subject::kMember: return "member";
    case Subject::kEtl: return "etl";
    case Subject::kUpload: return "upload";
    case Subject::kRequestBody: return "request body";
  }
  return "unknown";
}

namespace {

StatusCode CodeForErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT: return StatusCode::kNoSpace;
    case ENOENT: return StatusCode::kNotFound;
    case EFBIG: return StatusCode::kTooLarge;
    case ETIMEDOUT: return StatusCode::kTimeout;
    default: return StatusCode::kIOError;
  }
}

}  // namespace

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  return Status(CodeForErrno(err), std::move(msg)).WithErrno(err);
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  Status s = *this;
  s.message_ = std::move(msg);
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace aisle
