// Authorization of S3 requests under --auth (docs/SECURITY.md "S3 keys of users"): a user's
// key may do what the user's per-bucket permissions (AIStore's AccessAttrs bits) allow; a
// static key (--s3-access-key) is an admin key. One definition for proxies and targets.
#pragma once

#include <optional>

#include "server/api/http_types.h"
#include "server/s3/s3_api.h"
#include "server/s3/s3_auth.h"

namespace aisle::api::s3 {

// True when `req` names a bucket sub-resource (?acl, ?versioning, ?uploads, ...).
bool HasSubresource(const Request& req);

// The AccessAttrs bits `req` needs on `t.bucket` (0: any verified key may, e.g. ListBuckets).
uint64_t S3Need(const Request& req, const S3Target& t);

// Under opts.auth: AccessDenied (403) when the verified key's user may not do `req` (for a
// CopyObject also GET on the source bucket). Without auth, or for a static key: nothing.
std::optional<AuthError> Authorize(const Request& req, const S3Target& t, const AuthInfo& a,
                                   const S3Options& opts);

// A request another node relayed (verified Aisle-Intra, --auth): that node verified and
// authorized it, and only it may know the key's user.
bool RelayedUnderAuth(const Request& req, const S3Options& opts);

// The request's AuthInfo on a node that does not check the signature again (RelayedUnderAuth):
// verified when the node knows the key (a static key), else `relayed`: a literal
// x-amz-content-sha256 is still checked, aws-chunked chunk signatures are not.
AuthInfo RelayedAuth(const Request& req, const S3Options& opts, int64_t now_s);

}  // namespace aisle::api::s3
