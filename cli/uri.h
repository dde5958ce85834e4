// Parsing of bucket and object arguments: "ais://B", "ais://B/OBJ", or the same without the
// scheme ("B", "B/OBJ"). Only ais:// buckets are supported.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace aisle::cli {

struct AisUri {
  std::string bucket;
  std::string object;  // may be empty; a trailing '/' is kept (it marks a prefix)
};

// Validates the bucket name; the object part is passed through as typed.
Result<AisUri> ParseAisUri(std::string_view arg);
// A bucket-only argument: "B", "ais://B" or "ais://B/".
Result<std::string> ParseBucketArg(std::string_view arg);
// "ais://b" or "ais://b/o" — how AIStore names buckets and objects in messages.
std::string FormatAisUri(std::string_view bucket, std::string_view object = {});

}  // namespace aisle::cli
