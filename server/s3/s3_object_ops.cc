// S3 object calls: PutObject, GetObject (Range, conditionals), HeadObject, DeleteObject,
// CopyObject, DeleteObjects; and the request-body decoding all writes share.
#include <strings.h>

#include <algorithm>
#include <ctime>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/names.h"
#include "common/text.h"
#include "server/api/byte_range.h"
#include "server/api/object_body.h"
#include "server/s3/s3_crypto.h"
#include "server/s3/s3_error.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

constexpr size_t kMaxDeleteBody = 2 << 20;      // 1000 keys of up to 1 KiB, plus markup
constexpr uint64_t kMaxSinglePut = 5ull << 30;  // S3's PutObject limit

bool IsHex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string Find(const storage::ObjectMeta& m, std::string_view key) {
  for (const auto& [k, v] : m.custom)
    if (k == key) return v;
  return "";
}

bool EtagMatches(const std::string& header, const std::string& etag) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string item = header.substr(start, end - start);
    item.erase(std::remove_if(item.begin(), item.end(), [](char ch) { return ch == ' '; }),
               item.end());
    if (item.rfind("W/", 0) == 0) item = item.substr(2);
    item.erase(std::remove(item.begin(), item.end(), '"'), item.end());
    if (item == "*" || item == etag) return true;
    start = end + 1;
  }
  return false;
}

void SetMetaHeaders(const storage::ObjectMeta& m, Response& resp) {
  resp.headers.Set("ETag", "\"" + EtagOf(m) + "\"");
  resp.headers.Set("Last-Modified", HttpDate(m.mtime_ns));
  std::string ct = Find(m, kMdContentType);
  resp.headers.Set("Content-Type", ct.empty() ? "binary/octet-stream" : ct);
  resp.headers.Set("Accept-Ranges", "bytes");
  for (const auto& [k, v] : m.custom) {
    if (k.rfind(kMetaPrefix, 0) == 0) resp.headers.Add(k, v);
  }
}

// Conditional GET/HEAD; true when the response is already decided (304/412).
bool Preconditions(const Request& req, Response& resp, const storage::ObjectMeta& m) {
  std::string etag = EtagOf(m);
  int64_t mtime = m.mtime_ns / 1000000000;
  std::string im = req.headers.Get("If-Match"), inm = req.headers.Get("If-None-Match");
  std::string ims = req.headers.Get("If-Modified-Since");
  std::string ius = req.headers.Get("If-Unmodified-Since");
  if (!im.empty() && !EtagMatches(im, etag)) {
    WriteS3Error(req, resp, 412, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold");
    return true;
  }
  if (im.empty() && !ius.empty()) {
    int64_t t = ParseHttpDate(ius);
    if (t >= 0 && mtime > t) {
      WriteS3Error(req, resp, 412, "PreconditionFailed",
                   "At least one of the pre-conditions you specified did not hold");
      return true;
    }
  }
  bool not_modified = false;
  if (!inm.empty()) {
    not_modified = EtagMatches(inm, etag);
  } else if (!ims.empty()) {
    int64_t t = ParseHttpDate(ims);
    not_modified = t >= 0 && mtime <= t;
  }
  if (not_modified) {
    resp.status = 304;
    resp.headers.Set("ETag", "\"" + etag + "\"");
    resp.headers.Set("Last-Modified", HttpDate(m.mtime_ns));
    resp.body.clear();
    return true;
  }
  return false;
}

void GetObject(S3Ctx& c, Request& req, Response& resp) {
  auto r = c.store->Get(c.bucket, c.key);
  if (!r.ok()) return WriteS3Status(req, resp, r.status(), "NoSuchKey");
  const storage::ObjectMeta& m = r->meta;
  if (Preconditions(req, resp, m)) return;
  SetMetaHeaders(m, resp);
  // Presigned GETs may override response headers (response-content-type, ...).
  for (auto [q, h] : {std::pair{"response-content-type", "Content-Type"},
                      {"response-content-disposition", "Content-Disposition"},
                      {"response-content-encoding", "Content-Encoding"},
                      {"response-content-language", "Content-Language"},
                      {"response-cache-control", "Cache-Control"},
                      {"response-expires", "Expires"}}) {
    if (auto v = req.Query(q); v && !v->empty()) resp.headers.Set(h, *v);
  }
  auto range = ApplyRange(
      req, resp, m.size, MultiRange::kServeWhole,
      [&](const Status& st) { WriteS3Status(req, resp, st); },
      "The requested range is not satisfiable");
  if (!range.ok()) return;
  uint64_t start = range->start, length = range->length;
  if (req.method == "HEAD") {
    resp.head_length = length;
    return;
  }
  SetObjectBody(*r, start, length, resp);
}

// The ETag custom key is reserved with a placeholder of the final length and filled in by
// PutOptions::finalize once the body's MD5 is known.
const std::string kEtagPlaceholder(32, '0');

void PutObject(S3Ctx& c, Request& req, Response& resp) {
  if (Status st = ValidateObjectName(c.key); !st.ok())
    return WriteS3Error(req, resp, 400, "InvalidArgument", st.message());
  DecodedBody body(req, c.auth);
  if (!body.header_error().ok()) return WriteS3Status(req, resp, body.header_error());
  if (auto n = body.reader().DeclaredLength(); n && *n > kMaxSinglePut)
    return WriteS3Error(req, resp, 400, "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed object size.");
  storage::PutOptions opts;
  opts.custom = MetaFromHeaders(req);
  opts.custom.emplace_back(kMdEtag, kEtagPlaceholder);
  HashingReader& hr = body.reader();
  opts.finalize = [&hr](storage::ObjectMeta& m) {
    for (auto& [k, v] : m.custom)
      if (k == kMdEtag) v = hr.md5_hex();
    return Status::OK();
  };
  auto m = c.store->Put(c.bucket, c.key, hr, opts);
  if (!m.ok()) return WriteBodyError(req, resp, body, m.status());
  resp.headers.Set("ETag", "\"" + hr.md5_hex() + "\"");
}

// x-amz-copy-source: [/]bucket/key[?versionId=...], URL-encoded.
bool ParseCopySource(const std::string& header, std::string* bucket, std::string* key) {
  std::string s = PercentDecode(header.substr(0, header.find('?')), false);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return false;
  *bucket = s.substr(0, slash);
  *key = s.substr(slash + 1);
  return true;
}

void CopyObject(S3Ctx& c, Request& req, Response& resp) {
  std::string sb, sk;
  if (!ParseCopySource(req.headers.Get("x-amz-copy-source"), &sb, &sk))
    return WriteS3Error(
        req, resp, 400, "InvalidArgument",
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  if (Status st = ValidateObjectName(c.key); !st.ok())
    return WriteS3Error(req, resp, 400, "InvalidArgument", st.message());
  auto src = c.store->Get(sb, sk);
  if (!src.ok()) return WriteS3Status(req, resp, src.status(), "NoSuchKey");
  const storage::ObjectMeta& m = src->meta;
  std::string etag = EtagOf(m);
  std::string cim = req.headers.Get("x-amz-copy-source-if-match");
  std::string cinm = req.headers.Get("x-amz-copy-source-if-none-match");
  if ((!cim.empty() && !EtagMatches(cim, etag)) || (!cinm.empty() && EtagMatches(cinm, etag)))
    return WriteS3Error(req, resp, 412, "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold");
  bool replace = IEquals(req.headers.Get("x-amz-metadata-directive"), "REPLACE");
  if (sb == c.bucket && sk == c.key && !replace)
    return WriteS3Error(req, resp, 400, "InvalidRequest",
                        "This copy request is illegal because it is trying to copy an object to "
                        "itself without changing the object's metadata.");
  storage::PutOptions opts;
  if (replace) {
    opts.custom = MetaFromHeaders(req);
  } else {
    for (const auto& kv : m.custom)
      if (kv.first != kMdEtag) opts.custom.push_back(kv);
  }
  // The copy has the same bytes, hence the same MD5 ETag (xxhash-derived ones are recomputed
  // by nobody: keep them as they are).
  opts.custom.emplace_back(kMdEtag, etag);
  FileRangesReader body({{src->file, src->file->get(), src->data_offset, m.size}});
  auto out = c.store->Put(c.bucket, c.key, body, opts);
  if (!out.ok()) return WriteS3Status(req, resp, out.status(), "NoSuchKey");
  XmlWriter w;
  w.Open("CopyObjectResult", kS3Xmlns).Leaf("LastModified", Iso8601Ms(out->mtime_ns));
  w.Leaf("ETag", "\"" + etag + "\"").Close("CopyObjectResult");
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = w.Take();
}

void DeleteObject(S3Ctx& c, Request& req, Response& resp) {
  Status st = c.store->Delete(c.bucket, c.key);
  // S3 answers 204 for a key that is not there; a missing bucket is still an error.
  if (!st.ok() && !(st.IsNotFound() && st.subject() != Subject::kBucket))
    return WriteS3Status(req, resp, st, "NoSuchKey");
  resp.status = 204;
}

}  // namespace

bool ParseCopySourceHeader(const std::string& header, std::string* bucket, std::string* key) {
  return ParseCopySource(header, bucket, key);
}
bool EtagMatchesHeader(const std::string& header, const std::string& etag) {
  return EtagMatches(header, etag);
}

DecodedBody::DecodedBody(Request& req, const AuthInfo& auth) {
  BodyReader* src = req.body;
  const std::string& ph = auth.payload_hash;
  bool streaming = ph.rfind("STREAMING-", 0) == 0 ||
                   req.headers.Get("Content-Encoding").find("aws-chunked") != std::string::npos;
  if (streaming) {
    std::optional<uint64_t> decoded;
    std::string dl = req.headers.Get("x-amz-decoded-content-length");
    if (!dl.empty() && dl.size() < 20 && dl.find_first_not_of("0123456789") == std::string::npos)
      decoded = std::stoull(dl);
    bool signed_chunks = auth.verified && ph.rfind("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 0) == 0;
    chunked_ = std::make_unique<AwsChunkedReader>(*src, decoded, signed_chunks ? &auth : nullptr);
    src = chunked_.get();
  }
  std::string md5;
  std::string cmd5 = req.headers.Get("Content-MD5");
  if (!cmd5.empty() && (!FromBase64(cmd5, &md5) || md5.size() != 16))
    header_error_ =
        WithS3Code(Status::InvalidArgument("The Content-MD5 you specified is not valid."),
                   S3Code::kInvalidDigest);
  // A literal payload hash is checked only when it was signed (anonymous mode trusts it).
  std::string sha = (auth.verified || auth.relayed) && IsHex64(ph) ? ph : "";
  hashing_ = std::make_unique<HashingReader>(*src, md5, sha);
}

std::string DecodedBody::failed_check() const {
  if (chunked_ && !chunked_->failed_check().empty()) return chunked_->failed_check();
  return hashing_->failed_check();
}

void WriteBodyError(Request& req, Response& resp, const DecodedBody& body, const Status& st) {
  std::string check = body.failed_check();
  if (check == "SignatureDoesNotMatch")
    return WriteS3Error(req, resp, 403, check, "chunk signature does not match");
  if (check == "IncompleteBody")
    return WriteS3Error(req, resp, 400, check,
                        "You did not provide the number of bytes specified by the Content-Length");
  if (!check.empty()) return WriteS3Error(req, resp, 400, check, st.message());
  if (st.code() == StatusCode::kTooLarge)
    return WriteS3Error(req, resp, 400, "EntityTooLarge", st.message());
  // A client that stalled or hung up mid-body is not the server's fault.
  if ((st.code() == StatusCode::kTimeout || st.code() == StatusCode::kIOError) &&
      st.subject() == Subject::kRequestBody)
    return WriteS3Error(req, resp, 400, "IncompleteBody", st.message());
  WriteS3Status(req, resp, st, "NoSuchKey");
}

Result<std::string> ReadSmallBody(S3Ctx& c, Request& req, size_t limit) {
  DecodedBody body(req, c.auth);
  if (!body.header_error().ok()) return body.header_error();
  std::string out;
  char buf[16384];
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t n, body.reader().Read(buf, sizeof buf));
    if (n == 0) break;
    if (out.size() + n > limit) return Status::TooLarge("request body too large");
    out.append(buf, n);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> MetaFromHeaders(const Request& req) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string ct = req.headers.Get("Content-Type");
  if (!ct.empty()) out.emplace_back(kMdContentType, ct);
  for (const auto& [k, v] : req.headers.items()) {
    if (k.size() <= kMetaPrefix.size() ||
        strncasecmp(k.c_str(), kMetaPrefix.data(), kMetaPrefix.size()) != 0)
      continue;
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.emplace_back(std::move(name), v);
  }
  return out;
}

std::string EtagOf(const storage::ObjectMeta& m) {
  std::string e = Find(m, kMdEtag);
  return e.empty() ? Hex64(m.xxhash) : e;
}

void ObjectRequest(S3Ctx& c, Request& req, Response& resp) {
  const std::string& m = req.method;
  bool has_upload = req.Query("uploadId").has_value();
  if (m == "GET" || m == "HEAD") {
    if (has_upload && m == "GET") return ListParts(c, req, resp);
    if (req.Query("acl") || req.Query("tagging")) {
      if (m == "GET" && req.Query("tagging")) {
        XmlWriter w;
        w.Open("Tagging", kS3Xmlns).Open("TagSet").Close("TagSet").Close("Tagging");
        resp.headers.Set("Content-Type", "application/xml");
        resp.body = w.Take();
        return;
      }
      return WriteS3Error(req, resp, 501, "NotImplemented", "object ACLs are not supported");
    }
    return GetObject(c, req, resp);
  }
  if (m == "PUT") {
    if (has_upload) return UploadPart(c, req, resp);
    if (req.Query("acl") || req.Query("tagging") || req.Query("retention") ||
        req.Query("legal-hold"))
      return WriteS3Error(req, resp, 501, "NotImplemented", "not supported");
    if (!req.headers.Get("x-amz-copy-source").empty()) return CopyObject(c, req, resp);
    return PutObject(c, req, resp);
  }
  if (m == "DELETE") {
    if (has_upload) return AbortUpload(c, req, resp);
    return DeleteObject(c, req, resp);
  }
  if (m == "POST") {
    if (req.Query("uploads")) return CreateUpload(c, req, resp);
    if (has_upload) return CompleteUpload(c, req, resp);
    return WriteS3Error(req, resp, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this resource.");
  }
  WriteS3Error(req, resp, 405, "MethodNotAllowed",
               "The specified method is not allowed against this resource.");
}

void ServeDeleteObjects(S3Ctx& c, Request& req, Response& resp, size_t max_body, bool bucket_exists,
                        const char* error_code,
                        const std::function<std::string(const std::string& key)>& delete_one) {
  auto body = ReadSmallBody(c, req, max_body);
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kDataCorruption)
      return WriteS3Error(req, resp, 400, "BadDigest", body.status().message());
    return WriteS3Error(req, resp, 400, "MalformedXML", body.status().message());
  }
  if (!bucket_exists)
    return WriteS3Error(req, resp, 404, "NoSuchBucket", "The specified bucket does not exist");
  auto quiet = XmlTexts(*body, "Quiet");
  auto objects = XmlBlocks(*body, "Object");
  if (!quiet.ok() || body->find("<Delete") == std::string::npos || objects.size() > 1000)
    return WriteS3Error(req, resp, 400, "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
  bool is_quiet = !quiet->empty() && quiet->front() == "true";
  XmlWriter w;
  w.Open("DeleteResult", kS3Xmlns);
  for (std::string_view obj : objects) {
    auto keys = XmlTexts(obj, "Key");
    if (!keys.ok() || keys->size() != 1)
      return WriteS3Error(req, resp, 400, "MalformedXML", "each <Object> needs one <Key>");
    const std::string& key = keys->front();
    std::string err = delete_one(key);
    if (err.empty()) {
      if (!is_quiet) w.Open("Deleted").Leaf("Key", key).Close("Deleted");
    } else {
      w.Open("Error").Leaf("Key", key).Leaf("Code", error_code);
      w.Leaf("Message", err).Close("Error");
    }
  }
  w.Close("DeleteResult");
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = w.Take();
}

void DeleteObjects(S3Ctx& c, Request& req, Response& resp) {
  ServeDeleteObjects(c, req, resp, kMaxDeleteBody, c.store->HeadBucket(c.bucket).ok(),
                     "InternalError", [&](const std::string& key) -> std::string {
                       Status st = c.store->Delete(c.bucket, key);
                       return st.ok() || st.IsNotFound() ? "" : st.message();
                     });
}

}  // namespace aisle::api::s3
