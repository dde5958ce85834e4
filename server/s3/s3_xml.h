// XML for the S3 API: a small writer for responses, a tag scanner for the few request
// bodies S3 has (Delete, CompleteMultipartUpload), and S3-shaped error responses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/api/http_types.h"

namespace aisle::api::s3 {

inline constexpr std::string_view kS3Xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

std::string XmlEscape(std::string_view s);

// Appends elements in order; Open/Close must nest.
class XmlWriter {
 public:
  XmlWriter();  // starts with the XML declaration
  XmlWriter& Open(std::string_view tag, std::string_view xmlns = {});
  XmlWriter& Close(std::string_view tag);
  XmlWriter& Leaf(std::string_view tag, std::string_view text);  // escaped
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Texts of every <tag>...</tag> in `xml`, in order, entities decoded. Nested tags are not
// interpreted; enough for S3's flat request documents. Malformed -> kInvalidArgument.
Result<std::vector<std::string>> XmlTexts(std::string_view xml, std::string_view tag);
// The inner XML of every <tag>...</tag> block (for <Part>...</Part>).
std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag);

// An S3 error: HTTP status + S3 code; HEAD responses carry no body.
void WriteS3Error(const Request& req, Response& resp, int http_status, std::string_view code,
                  std::string_view message, std::string_view resource = {});
// The one Status -> S3 table, over typed fields only: the code gives the S3 code and HTTP
// status; a kNotFound about a bucket is NoSuchBucket, about an upload NoSuchUpload, otherwise
// `not_found_code` (the caller knows whether it looked up a key or a bucket); an S3Code in
// the status (s3_error.h) names codes no generic one does. The message is never parsed.
struct S3ErrorCode {
  std::string_view code;
  int http = 500;
};
S3ErrorCode S3ErrorFor(const Status& st, std::string_view not_found_code = "NoSuchKey");
void WriteS3Status(const Request& req, Response& resp, const Status& st,
                   std::string_view not_found_code = "NoSuchKey");

}  // namespace aisle::api::s3
