// S3 multipart calls: CreateMultipartUpload, UploadPart (and UploadPartCopy),
// CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
#include "common/clock.h"
#include "common/names.h"
#include "server/api/byte_range.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

constexpr size_t kMaxCompleteBody = 4 << 20;  // 10000 parts of ~150 bytes each
constexpr uint64_t kMaxPartSize = 5ull << 30;

void Xml(Response& resp, std::string body) {
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = std::move(body);
}

// partNumber=1..10000; 0 when invalid.
int PartNumber(const Request& req) {
  std::string s = req.Query("partNumber").value_or("");
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return 0;
  int n = std::stoi(s);
  return n >= 1 && n <= kMaxPartNumber ? n : 0;
}

}  // namespace

void CreateUpload(S3Ctx& c, Request& req, Response& resp) {
  if (Status st = ValidateObjectName(c.key); !st.ok())
    return WriteS3Error(req, resp, 400, "InvalidArgument", st.message());
  auto id = c.mpu->Create(c.bucket, c.key, MetaFromHeaders(req));
  if (!id.ok()) return WriteS3Status(req, resp, id.status(), "NoSuchBucket");
  XmlWriter w;
  w.Open("InitiateMultipartUploadResult", kS3Xmlns).Leaf("Bucket", c.bucket);
  w.Leaf("Key", c.key).Leaf("UploadId", *id).Close("InitiateMultipartUploadResult");
  Xml(resp, w.Take());
}

void UploadPart(S3Ctx& c, Request& req, Response& resp) {
  int number = PartNumber(req);
  if (number == 0)
    return WriteS3Error(req, resp, 400, "InvalidArgument",
                        "Part number must be an integer between 1 and 10000, inclusive");
  std::string id = req.Query("uploadId").value_or("");
  std::string copy = req.headers.Get("x-amz-copy-source");
  if (!copy.empty()) {
    std::string s = PercentDecode(copy.substr(0, copy.find('?')), false);
    while (!s.empty() && s.front() == '/') s.erase(0, 1);
    size_t slash = s.find('/');
    if (slash == std::string::npos)
      return WriteS3Error(req, resp, 400, "InvalidArgument", "bad x-amz-copy-source");
    auto src = c.store->Get(s.substr(0, slash), s.substr(slash + 1));
    if (!src.ok()) return WriteS3Status(req, resp, src.status(), "NoSuchKey");
    uint64_t off = 0, len = src->meta.size;
    std::string range = req.headers.Get("x-amz-copy-source-range");
    if (!range.empty()) {
      std::optional<ByteRange> r = ParseClosedRange(range, src->meta.size);
      if (!r)
        return WriteS3Error(
            req, resp, 400, "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last "
            "within the source object");
      off = r->start;
      len = r->length;
    }
    FileRangesReader body({{src->file, src->file->get(), src->data_offset + off, len}});
    auto etag = c.mpu->CopyPart(c.bucket, c.key, id, number, body);
    if (!etag.ok()) return WriteS3Status(req, resp, etag.status(), "NoSuchUpload");
    XmlWriter w;
    w.Open("CopyPartResult", kS3Xmlns).Leaf("LastModified", Iso8601Ms(src->meta.mtime_ns));
    w.Leaf("ETag", "\"" + *etag + "\"").Close("CopyPartResult");
    return Xml(resp, w.Take());
  }
  DecodedBody body(req, c.auth);
  if (!body.header_error().ok()) return WriteS3Status(req, resp, body.header_error());
  if (auto n = body.reader().DeclaredLength(); n && *n > kMaxPartSize)
    return WriteS3Error(req, resp, 400, "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed part size.");
  auto etag = c.mpu->UploadPart(c.bucket, c.key, id, number, body.reader());
  if (!etag.ok()) {
    if (!body.failed_check().empty()) return WriteBodyError(req, resp, body, etag.status());
    return WriteS3Status(req, resp, etag.status(), "NoSuchUpload");
  }
  resp.headers.Set("ETag", "\"" + *etag + "\"");
}

void CompleteUpload(S3Ctx& c, Request& req, Response& resp) {
  std::string id = req.Query("uploadId").value_or("");
  auto body = ReadSmallBody(c, req, kMaxCompleteBody);
  if (!body.ok()) return WriteS3Error(req, resp, 400, "MalformedXML", body.status().message());
  std::vector<std::pair<int, std::string>> parts;
  for (std::string_view block : XmlBlocks(*body, "Part")) {
    auto num = XmlTexts(block, "PartNumber");
    auto etag = XmlTexts(block, "ETag");
    if (!num.ok() || !etag.ok() || num->size() != 1 || etag->size() != 1 || num->front().empty() ||
        num->front().size() > 5 ||
        num->front().find_first_not_of("0123456789") != std::string::npos)
      return WriteS3Error(req, resp, 400, "MalformedXML",
                          "The XML you provided was not well-formed or did not validate against "
                          "our published schema");
    parts.emplace_back(std::stoi(num->front()), etag->front());
  }
  if (body->find("<CompleteMultipartUpload") == std::string::npos || parts.empty())
    return WriteS3Error(req, resp, 400, "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
  auto done = c.mpu->Complete(c.bucket, c.key, id, parts);
  if (!done.ok()) return WriteS3Status(req, resp, done.status(), "NoSuchUpload");
  XmlWriter w;
  w.Open("CompleteMultipartUploadResult", kS3Xmlns);
  w.Leaf("Location", "/" + c.bucket + "/" + c.key).Leaf("Bucket", c.bucket).Leaf("Key", c.key);
  w.Leaf("ETag", "\"" + done->second + "\"").Close("CompleteMultipartUploadResult");
  Xml(resp, w.Take());
}

void AbortUpload(S3Ctx& c, Request& req, Response& resp) {
  Status st = c.mpu->Abort(c.bucket, c.key, req.Query("uploadId").value_or(""));
  if (!st.ok()) return WriteS3Status(req, resp, st, "NoSuchUpload");
  resp.status = 204;
}

void ListParts(S3Ctx& c, Request& req, Response& resp) {
  std::string id = req.Query("uploadId").value_or("");
  auto parts = c.mpu->ListParts(c.bucket, c.key, id);
  if (!parts.ok()) return WriteS3Status(req, resp, parts.status(), "NoSuchUpload");
  int marker = 0, max_parts = 1000;
  std::string pm = req.Query("part-number-marker").value_or("");
  if (!pm.empty() && pm.size() < 6 && pm.find_first_not_of("0123456789") == std::string::npos)
    marker = std::stoi(pm);
  std::string mp = req.Query("max-parts").value_or("");
  if (!mp.empty() && mp.size() < 6 && mp.find_first_not_of("0123456789") == std::string::npos)
    max_parts = std::min(1000, std::stoi(mp));
  XmlWriter w;
  w.Open("ListPartsResult", kS3Xmlns).Leaf("Bucket", c.bucket).Leaf("Key", c.key);
  w.Leaf("UploadId", id).Leaf("PartNumberMarker", std::to_string(marker));
  w.Leaf("StorageClass", "STANDARD").Leaf("MaxParts", std::to_string(max_parts));
  int count = 0, next = marker;
  bool truncated = false;
  std::string part_xml;
  for (const auto& p : *parts) {
    if (p.number <= marker) continue;
    if (count == max_parts) {
      truncated = true;
      break;
    }
    ++count;
    next = p.number;
    part_xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><LastModified>" +
                Iso8601Ms(p.mtime_ns) + "</LastModified><ETag>&quot;" + p.etag +
                "&quot;</ETag><Size>" + std::to_string(p.size) + "</Size></Part>";
  }
  w.Leaf("NextPartNumberMarker", std::to_string(next));
  w.Leaf("IsTruncated", truncated ? "true" : "false");
  std::string out = w.Take() + part_xml + "</ListPartsResult>";
  Xml(resp, std::move(out));
}

void ListUploads(S3Ctx& c, Request& req, Response& resp) {
  std::string prefix = req.Query("prefix").value_or("");
  XmlWriter w;
  w.Open("ListMultipartUploadsResult", kS3Xmlns).Leaf("Bucket", c.bucket);
  w.Leaf("KeyMarker", "").Leaf("UploadIdMarker", "").Leaf("Prefix", prefix);
  w.Leaf("MaxUploads", "1000").Leaf("IsTruncated", "false");
  for (const auto& u : c.mpu->ListUploads(c.bucket)) {
    if (u.key.rfind(prefix, 0) != 0) continue;
    w.Open("Upload").Leaf("Key", u.key).Leaf("UploadId", u.id);
    w.Open("Initiator").Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Initiator");
    w.Open("Owner").Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Owner");
    w.Leaf("StorageClass", "STANDARD").Leaf("Initiated", Iso8601Ms(u.initiated_ns));
    w.Close("Upload");
  }
  w.Close("ListMultipartUploadsResult");
  Xml(resp, w.Take());
}

}  // namespace aisle::api::s3
