#include "cli/uri.h"

#include "common/names.h"

namespace aisle::cli {

Result<AisUri> ParseAisUri(std::string_view arg) {
  std::string_view rest = arg;
  if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    std::string_view provider = rest.substr(0, scheme);
    if (provider != "ais") {
      return Status::InvalidArgument("unsupported bucket provider \"" + std::string(provider) +
                                     "://\" in \"" + std::string(arg) +
                                     "\": only ais:// buckets are supported");
    }
    rest.remove_prefix(scheme + 3);
  }
  AisUri uri;
  size_t slash = rest.find('/');
  uri.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) uri.object = std::string(rest.substr(slash + 1));
  if (uri.bucket.empty()) {
    return Status::InvalidArgument("missing bucket name in \"" + std::string(arg) +
                                   "\" (expected ais://BUCKET[/OBJECT])");
  }
  AISLE_RETURN_IF_ERROR(ValidateBucketName(uri.bucket));
  return uri;
}

Result<std::string> ParseBucketArg(std::string_view arg) {
  AISLE_ASSIGN_OR_RETURN(AisUri uri, ParseAisUri(arg));
  if (!uri.object.empty()) {
    return Status::InvalidArgument("expected a bucket (ais://BUCKET), got \"" + std::string(arg) +
                                   "\"");
  }
  return uri.bucket;
}

std::string FormatAisUri(std::string_view bucket, std::string_view object) {
  std::string out = "ais://" + std::string(bucket);
  if (!object.empty()) out += "/" + std::string(object);
  return out;
}

}  // namespace aisle::cli
