// AWS Signature Version 4 verification: the Authorization header, presigned URLs (query
// auth) and the per-chunk signatures of aws-chunked streaming bodies.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "server/api/http_types.h"
#include "server/api/user_auth.h"

namespace aisle::api::s3 {

// A user's S3 key (docs/SECURITY.md "S3 keys of users"): its secret and the user's permissions.
struct UserS3Key {
  std::string secret;
  std::shared_ptr<const UserClaims> user;
};

struct S3Options {
  // Static access key -> secret key: admin keys. Empty and no `auth`: anonymous (any or no
  // credentials accepted).
  std::vector<std::pair<std::string, std::string>> keys;
  // --auth: every request needs a key; a user's key is authorized with the user's permissions.
  bool auth = false;
  // The user key with this access key, if any (set on the proxy that keeps the users).
  std::function<std::optional<UserS3Key>(const std::string& access_key)> user_key;
  std::string region = "us-east-1";  // reported by GetBucketLocation
  // Virtual-host style: requests for Host BUCKET.<vhost_domain> address BUCKET. Without it,
  // BUCKET.<anything> is used only when BUCKET is an existing bucket and the host is a name.
  std::string vhost_domain;
  int64_t max_skew_s = 15 * 60;  // x-amz-date must be this close to the node's clock
};

// What a verified request carries forward (aws-chunked bodies sign each chunk with it).
struct AuthInfo {
  bool verified = false;  // false: anonymous mode, nothing checked
  // Verified by the node that relayed it (s3_access.h): x-amz-content-sha256 was signed.
  bool relayed = false;
  std::string access_key;
  std::shared_ptr<const UserClaims> user;  // a user's key; null: a static (admin) key
  std::string payload_hash;    // x-amz-content-sha256 (hex, UNSIGNED-PAYLOAD, STREAMING-...)
  std::string amz_date;        // 20060102T150405Z
  std::string scope;           // 20060102/us-east-1/s3/aws4_request
  std::string signing_key;     // raw HMAC key derived from the secret
  std::string seed_signature;  // hex; the first chunk's "previous signature"
};

struct AuthError {
  int http = 403;
  std::string code;  // SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied, ...
  std::string message;
};

// Verifies `req` against `opts.keys` at time `now_s` (unix seconds). In anonymous mode
// returns an unverified AuthInfo with payload_hash filled in.
std::variant<AuthInfo, AuthError> VerifyRequest(const Request& req, const S3Options& opts,
                                                int64_t now_s);

// Legacy SigV2 query authentication (presigned URLs only). Called by VerifyRequest.
std::variant<AuthInfo, AuthError> VerifyV2Query(const Request& req, const S3Options& opts,
                                                int64_t now_s);

// Signature of one aws-chunked chunk whose data hashes to chunk_sha256_hex.
std::string ChunkSignature(const AuthInfo& auth, const std::string& prev_signature,
                           const std::string& chunk_sha256_hex);

// S3's URI encoding (RFC 3986 unreserved kept; '/' kept unless encode_slash).
std::string UriEncode(std::string_view s, bool encode_slash);

}  // namespace aisle::api::s3
