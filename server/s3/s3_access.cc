#include "server/s3/s3_access.h"

#include <string>

namespace aisle::api::s3 {
namespace {

constexpr const char* kSubresources[] = {
    "acl",         "versioning",        "policy",           "cors",         "lifecycle",
    "tagging",     "website",           "logging",          "notification", "encryption",
    "replication", "object-lock",       "uploads",          "location",     "requestPayment",
    "accelerate",  "ownershipControls", "publicAccessBlock"};

// The bucket of x-amz-copy-source ("/B/K" or "B/K", percent-encoded), "" when absent.
std::string CopySourceBucket(const Request& req) {
  const std::string* src = req.headers.Find("x-amz-copy-source");
  if (!src) return "";
  std::string s = PercentDecode(*src, false);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  return s.substr(0, s.find('/'));
}

}  // namespace

bool HasSubresource(const Request& req) {
  for (const char* s : kSubresources) {
    if (req.Query(s)) return true;
  }
  return false;
}

uint64_t S3Need(const Request& req, const S3Target& t) {
  const std::string& m = req.method;
  if (t.bucket.empty()) return 0;  // ListBuckets: as GET /v1/buckets, any user
  if (!t.key.empty()) {
    if (m == "GET") return access::kGet;
    if (m == "HEAD") return access::kObjHead;
    if (m == "DELETE") return access::kObjDelete;  // also aborts an upload
    return access::kPut;  // PUT, CopyObject, UploadPart, multipart create/complete (POST)
  }
  bool sub = HasSubresource(req);
  if (m == "GET") return sub && !req.Query("uploads") ? access::kBckHead : access::kObjList;
  if (m == "HEAD") return access::kBckHead;
  if (m == "POST") return access::kObjDelete;  // DeleteObjects (?delete)
  if (m == "PUT") return sub ? access::kPatch : access::kCreateBucket;
  if (m == "DELETE") return sub ? access::kPatch : access::kDestroyBucket;
  return access::kAdmin;
}

std::optional<AuthError> Authorize(const Request& req, const S3Target& t, const AuthInfo& a,
                                   const S3Options& opts) {
  if (!opts.auth) return std::nullopt;
  if (!a.verified) return AuthError{403, "AccessDenied", "Access Denied (anonymous request)"};
  if (!a.user) return std::nullopt;  // a static key: admin
  auto denied = [&](const std::string& bucket) {
    return AuthError{403, "AccessDenied",
                     "Access Denied: user \"" + a.user->user + "\" may not " + req.method +
                         (bucket.empty() ? "" : " on bucket " + bucket)};
  };
  if (uint64_t need = S3Need(req, t); need && !a.user->Allows(t.bucket, need))
    return denied(t.bucket);
  if (!t.key.empty() && req.method == "PUT") {
    std::string src = CopySourceBucket(req);
    if (!src.empty() && !a.user->Allows(src, access::kGet)) return denied(src);
  }
  return std::nullopt;
}

bool RelayedUnderAuth(const Request& req, const S3Options& opts) {
  return opts.auth && req.peer_auth && !req.intra_sender.empty();
}

AuthInfo RelayedAuth(const Request& req, const S3Options& opts, int64_t now_s) {
  auto v = VerifyRequest(req, opts, now_s);
  if (auto* info = std::get_if<AuthInfo>(&v)) return std::move(*info);
  AuthInfo info;
  info.relayed = true;
  info.payload_hash = req.headers.Get("x-amz-content-sha256");
  if (info.payload_hash.empty()) info.payload_hash = "UNSIGNED-PAYLOAD";
  return info;
}

}  // namespace aisle::api::s3
