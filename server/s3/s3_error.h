// S3 error codes that no StatusCode/Subject pair names (InvalidPart, EntityTooSmall, ...).
// They ride in Status::detail(), which only the S3 layer sets and reads, so WriteS3Status
// never parses a code out of a message.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace aisle::api::s3 {

enum class S3Code : uint16_t {
  kNone = 0,
  kMalformedXML,
  kInvalidPart,
  kInvalidPartOrder,
  kEntityTooSmall,
  kInvalidDigest,
};

inline std::string_view S3CodeName(S3Code code) {
  switch (code) {
    case S3Code::kNone: return "";
    case S3Code::kMalformedXML: return "MalformedXML";
    case S3Code::kInvalidPart: return "InvalidPart";
    case S3Code::kInvalidPartOrder: return "InvalidPartOrder";
    case S3Code::kEntityTooSmall: return "EntityTooSmall";
    case S3Code::kInvalidDigest: return "InvalidDigest";
  }
  return "";
}

// `st` answered to S3 clients with `code` (the HTTP status still follows st.code()).
inline Status WithS3Code(Status st, S3Code code) {
  return std::move(st).WithDetail(static_cast<uint16_t>(code));
}
inline S3Code S3CodeOf(const Status& st) { return static_cast<S3Code>(st.detail()); }

}  // namespace aisle::api::s3
