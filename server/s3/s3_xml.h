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
// Maps an engine Status to the closest S3 code (NoSuchBucket/NoSuchKey need context, so
// `not_found_code` says which one a kNotFound means).
void WriteS3Status(const Request& req, Response& resp, const Status& st,
                   std::string_view not_found_code = "NoSuchKey");

}  // namespace aisle::api::s3
