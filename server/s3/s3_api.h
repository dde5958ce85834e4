// S3Api: the S3-compatible API of a node (path style under /s3, virtual-host style by Host).
// Role-independent: it serves from the local Store; a proxy can instead redirect the data
// operations (IsDataRequest) with S3Redirect and keep serving the rest itself.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/s3/s3_auth.h"
#include "server/storage/store.h"

namespace aisle::api::s3 {

class MultipartStore;

// Where an S3 request points: bucket and key (either may be empty).
struct S3Target {
  std::string bucket, key;
  bool virtual_host = false;
};

class S3Api : public Handler {
 public:
  S3Api(storage::Store* store, S3Options opts, NodeContext node);
  ~S3Api() override;
  void Handle(Request& req, Response& resp) override;

  // True when `req` is an S3 request: path /s3 or /s3/..., or virtual-host style.
  bool Matches(const Request& req) const;
  // Bucket/key of an S3 request. REQUIRES: Matches(req).
  S3Target Parse(const Request& req) const;

 private:
  std::string VirtualHostBucket(const Request& req) const;

  storage::Store* store_;
  S3Options opts_;
  NodeContext node_;
  std::unique_ptr<MultipartStore> mpu_;
};

// Path-style (/s3/B/K) or virtual-host style (B from the Host, via vhost_bucket, which returns
// "" when the Host names no bucket): shared by the target's and the proxy's S3 handlers.
// The bucket a virtual-host-style request names in its Host ("BUCKET.<vhost_domain>"), or ""
// for path style. Without a domain, the first label counts only if `bucket_exists` says so.
std::string VirtualHostBucketOf(const Request& req, const std::string& vhost_domain,
                                const std::function<bool(const std::string&)>& bucket_exists);
bool MatchesS3(const Request& req, const std::function<std::string()>& vhost_bucket);
S3Target ParseS3Target(const Request& req, const std::function<std::string()>& vhost_bucket);

// True for requests that move object data (GET/PUT object, upload part, complete): the
// ones a proxy redirects to the object's target.
bool IsDataRequest(const Request& req, const S3Target& t);
// The 307 a proxy answers for a data request: Location + XML TemporaryRedirect body.
void S3Redirect(const Request& req, Response& resp, const S3Target& t, const std::string& location);

}  // namespace aisle::api::s3
