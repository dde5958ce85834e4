// Validation of bucket and object names (AIStore rules for buckets, S3 rules for objects).
#pragma once

#include <string_view>

#include "common/status.h"

namespace aisle {

constexpr size_t kMaxBucketNameLen = 64;
constexpr size_t kMaxObjectNameLen = 1024;

// Bucket: 1..64 chars of letters, digits, '-', '_', '.'; not "." or "..".
Status ValidateBucketName(std::string_view name);
// Object: 1..1024 bytes, no NUL, valid UTF-8, no "." or ".." path segment, no leading '/'.
// Names never become paths on disk (objects are stored by hash), so this is about
// clients that do turn names into paths (FUSE, recursive get), not mountpath safety.
Status ValidateObjectName(std::string_view name);

}  // namespace aisle
