// Status: the error value passed across every module boundary (leveldb style).
// An OK status carries no allocation; errors carry a code and a message that names
// the object and the step ("put ais://b/k: fsync: Input/output error").
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace aisle {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,      // bad name, malformed JSON, bad range syntax -> HTTP 400
  kNotFound,             // missing bucket/object -> 404
  kAlreadyExists,        // bucket exists -> 409
  kConflict,             // busy, not empty, concurrent update -> 409
  kRangeNotSatisfiable,  // -> 416
  kTooLarge,             // body or metadata over a limit -> 413
  kNoSpace,              // disk full -> 507
  kUnsupported,          // -> 501
  kUnavailable,          // starting up, shutting down, peer unreachable -> 503
  kTimeout,              // -> 504 (server side) / EIO (fs)
  kDataCorruption,       // checksum mismatch -> 400 for client data, 500 for stored data
  kIOError,              // -> 500
  kInternal,             // -> 500
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status RangeNotSatisfiable(std::string m) {
    return {StatusCode::kRangeNotSatisfiable, std::move(m)};
  }
  static Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
  static Status NoSpace(std::string m) { return {StatusCode::kNoSpace, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status DataCorruption(std::string m) {
    return {StatusCode::kDataCorruption, std::move(m)};
  }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  // From errno: ENOSPC/EDQUOT -> kNoSpace, ENOENT -> kNotFound, others -> kIOError.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }

  // Prefixes the message with context: "put b/o: " + message.
  Status WithContext(std::string_view context) const;
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace aisle

#define AISLE_RETURN_IF_ERROR(expr) \
  do {                              \
    ::aisle::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)
