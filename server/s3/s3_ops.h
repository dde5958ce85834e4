// S3 operations (internal to server/api/s3): one function per S3 call, grouped by file:
// s3_bucket_ops.cc, s3_object_ops.cc, s3_list.cc, s3_multipart_ops.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_body.h"
#include "server/s3/s3_multipart.h"
#include "server/storage/object_meta.h"
#include "server/storage/store.h"

namespace aisle::api::s3 {

// One page of a bucket listing (local Store on targets, cluster fan-out on proxies).
using Lister = std::function<Result<storage::ListPage>(const std::string& bucket,
                                                       const storage::ListOptions& opts)>;

struct S3Ctx {
  storage::Store* store;  // null on a proxy (which lists through `list`)
  MultipartStore* mpu;
  const S3Options* opts;
  const NodeContext* node;
  AuthInfo auth;
  std::string bucket, key;
  Lister list;  // when set, ListObjects pages through it instead of store->List
};

// Custom metadata keys the S3 layer keeps per object.
inline constexpr const char* kMdEtag = storage::kCustomS3Etag;
inline constexpr const char* kMdContentType = "Content-Type";
inline constexpr std::string_view kMetaPrefix = "x-amz-meta-";

// Buckets.
void ListBuckets(S3Ctx& c, Request& req, Response& resp);
void BucketRequest(S3Ctx& c, Request& req, Response& resp);  // everything on /s3/BUCKET
void ListObjects(S3Ctx& c, Request& req, Response& resp);
// Objects.
void ObjectRequest(S3Ctx& c, Request& req, Response& resp);  // everything on /s3/BUCKET/KEY
void DeleteObjects(S3Ctx& c, Request& req, Response& resp);
// Multipart.
void CreateUpload(S3Ctx& c, Request& req, Response& resp);
void UploadPart(S3Ctx& c, Request& req, Response& resp);
void CompleteUpload(S3Ctx& c, Request& req, Response& resp);
void AbortUpload(S3Ctx& c, Request& req, Response& resp);
void ListParts(S3Ctx& c, Request& req, Response& resp);
void ListUploads(S3Ctx& c, Request& req, Response& resp);

// Shared helpers (s3_object_ops.cc).
// The request body with aws-chunked decoded and digests (Content-MD5, x-amz-content-sha256,
// chunk signatures) checked while streaming.
class DecodedBody {
 public:
  DecodedBody(Request& req, const AuthInfo& auth);
  HashingReader& reader() { return *hashing_; }
  // Set when the request headers are already invalid (bad Content-MD5, ...).
  const Status& header_error() const { return header_error_; }
  // The S3 code of the check that failed while reading, empty if none.
  std::string failed_check() const;

 private:
  std::unique_ptr<AwsChunkedReader> chunked_;
  std::unique_ptr<HashingReader> hashing_;
  Status header_error_;
};
// Object metadata from request headers: Content-Type and x-amz-meta-*.
std::vector<std::pair<std::string, std::string>> MetaFromHeaders(const Request& req);
// x-amz-copy-source ("[/]bucket/key[?versionId=..]", URL-encoded) -> bucket, key.
bool ParseCopySourceHeader(const std::string& header, std::string* bucket, std::string* key);
// If-Match style comparison of a header ("etag", "\"etag\"", "*", lists) with an ETag.
bool EtagMatchesHeader(const std::string& header, const std::string& etag);
// The S3 ETag of a stored object (MD5 hex, or xxhash for objects written natively).
std::string EtagOf(const storage::ObjectMeta& m);
// Reads the whole (decoded) body up to limit.
Result<std::string> ReadSmallBody(S3Ctx& c, Request& req, size_t limit);
// PUT /s3/BUCKET (CreateBucket): checks the name, reads (and ignores) a
// CreateBucketConfiguration of up to max_body, then `create`; an existing bucket answers
// BucketAlreadyOwnedByYou.
void ServeCreateBucket(S3Ctx& c, Request& req, Response& resp, size_t max_body,
                       const std::function<Status()>& create);
// POST /s3/BUCKET?delete (DeleteObjects): parses the <Delete> body (up to max_body, 1000 keys),
// calls delete_one for each key in order (it returns "" on success, else the error's message,
// reported with `error_code`) and answers the DeleteResult. A missing bucket: NoSuchBucket.
void ServeDeleteObjects(S3Ctx& c, Request& req, Response& resp, size_t max_body, bool bucket_exists,
                        const char* error_code,
                        const std::function<std::string(const std::string& key)>& delete_one);
// Writes the S3 error for a failed body read (signature, digest) or engine status.
void WriteBodyError(Request& req, Response& resp, const DecodedBody& body, const Status& st);

}  // namespace aisle::api::s3
