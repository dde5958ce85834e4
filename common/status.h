// Status: the error value passed across every module boundary (leveldb style).
// An OK status carries no allocation; errors carry a code and a message that names
// the object and the step ("put ais://b/k: fsync: Input/output error").
//
// Decisions come from typed fields, never from the message (which is for people):
//  - code():      what went wrong (StatusCode below);
//  - subject():   what it is about, so one code can mean two things to a protocol
//                 (kNotFound + kBucket is S3 NoSuchBucket, + kObject is NoSuchKey);
//  - sys_errno(): the errno the error is, when an OS call (or the filesystem) raised it;
//                 set by FromErrno() or WithErrno(), 0 when none;
//  - detail():    a refinement code owned by one protocol front end, 0 when none. Only the
//                 S3 layer sets it (server/s3/s3_error.h: S3Code, e.g. InvalidPart, which
//                 no generic code or subject names); nothing below the front ends sets
//                 or reads it, so two owners never meet.
// WithContext() keeps every typed field. The fields fit in the word beside the message, so an
// OK status costs what it did before.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace aisle {

enum class StatusCode : uint8_t {
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

// What an error is about. Set where the error is made (the engine's "bucket does not exist"
// is kBucket), kept by WithContext(), read by the protocol tables (HTTP, S3, errno).
enum class Subject : uint8_t {
  kNone = 0,
  kBucket,       // the bucket itself (missing, already there)
  kObject,       // an object
  kMember,       // a member inside a shard
  kEtl,          // an ETL; the message already names it ("etl NAME: ...")
  kUpload,       // an S3 multipart upload
  kRequestBody,  // the client's request body (stalled, cut short)
};

const char* SubjectName(Subject subject);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : message_(std::move(message)), code_(code) {}

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
  // From errno: ENOSPC/EDQUOT -> kNoSpace, ENOENT -> kNotFound, others -> kIOError; the
  // status carries `err` as sys_errno() and says "context: strerror(err)".
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  Subject subject() const { return subject_; }
  int sys_errno() const { return sys_errno_; }
  uint16_t detail() const { return detail_; }

  // Typed refinements; an OK status stays OK (and bare).
  Status WithSubject(Subject subject) const& { return Status(*this).WithSubject(subject); }
  Status WithSubject(Subject subject) && {
    if (!ok()) subject_ = subject;
    return std::move(*this);
  }
  Status WithErrno(int err) const& { return Status(*this).WithErrno(err); }
  Status WithErrno(int err) && {
    if (!ok()) sys_errno_ = err;
    return std::move(*this);
  }
  Status WithDetail(uint16_t detail) const& { return Status(*this).WithDetail(detail); }
  Status WithDetail(uint16_t detail) && {
    if (!ok()) detail_ = detail;
    return std::move(*this);
  }
  // Prefixes the message with context: "put b/o: " + message; keeps the typed fields.
  Status WithContext(std::string_view context) const;
  std::string ToString() const;

 private:
  std::string message_;
  StatusCode code_ = StatusCode::kOk;
  Subject subject_ = Subject::kNone;
  uint16_t detail_ = 0;
  int sys_errno_ = 0;
};
static_assert(sizeof(Status) <= sizeof(std::string) + 8, "the typed fields share one word");

}  // namespace aisle

#define AISLE_RETURN_IF_ERROR(expr) \
  do {                              \
    ::aisle::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)
