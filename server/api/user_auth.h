// User authentication of the native API (docs/SECURITY.md "Users and tokens"), off unless the
// node runs with --auth. Tokens are JWTs as AIStore's AuthN issues them (HS256 with the cluster
// secret; claims sub, exp, admin, buckets[{bck, perm}], clusters[{id, perm}]) and permissions
// are AIStore's apc.AccessAttrs bits. AdmitUser runs right after AdmitPeer on proxies and
// targets: every /v1 route but health and login needs a valid bearer token (401), and the
// token must allow what the route does (403). A proxy's redirect of an allowed request carries
// a short-lived grant (aisle_grant=) for exactly that request, since clients drop Authorization
// when a redirect changes the host.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net/intra_auth.h"
#include "common/result.h"
#include "server/api/http_types.h"
#include "server/api/node_context.h"

namespace aisle::api {

// AIStore's apc.AccessAttrs (a documented subset of the bits; same values).
namespace access {
inline constexpr uint64_t kGet = 1;
inline constexpr uint64_t kObjHead = 1 << 1;
inline constexpr uint64_t kPut = 1 << 2;
inline constexpr uint64_t kAppend = 1 << 3;
inline constexpr uint64_t kObjDelete = 1 << 4;
inline constexpr uint64_t kObjMove = 1 << 5;
inline constexpr uint64_t kPromote = 1 << 6;
inline constexpr uint64_t kBckHead = 1 << 7;
inline constexpr uint64_t kObjList = 1 << 8;
inline constexpr uint64_t kPatch = 1 << 9;
inline constexpr uint64_t kBckSetAcl = 1 << 10;
inline constexpr uint64_t kListBuckets = 1 << 11;
inline constexpr uint64_t kCreateBucket = 1 << 12;
inline constexpr uint64_t kDestroyBucket = 1 << 13;
inline constexpr uint64_t kMoveBucket = 1 << 14;
inline constexpr uint64_t kAdmin = 1 << 15;
// The CLI's letters: r(ead), w(rite), l(ist).
inline constexpr uint64_t kRead = kGet | kObjHead | kBckHead;
inline constexpr uint64_t kWrite = kPut | kAppend | kObjDelete | kObjMove;
inline constexpr uint64_t kList = kObjList;
}  // namespace access

// "rwl", any subset in any order, or a decimal bit mask; kInvalidArgument otherwise.
Result<uint64_t> ParsePerm(std::string_view text);

struct BucketAcl {
  std::string bucket;  // ais:// bucket name
  uint64_t perm = 0;
};

// What a verified token (or grant) says about its holder.
struct UserClaims {
  std::string user;  // sub
  int64_t exp = 0;   // Unix seconds
  bool admin = false;
  uint64_t cluster_perm = 0;  // from clusters[].perm: applies to every bucket
  std::vector<BucketAcl> buckets;
  // True when the holder may do `need` on `bucket`.
  bool Allows(std::string_view bucket, uint64_t need) const;
};

// Claims from a token's payload (JSON). Requires sub (string) and exp (number); perm may be a
// number or a decimal string (AIStore writes "perm":"<n>"). kInvalidArgument otherwise.
Result<UserClaims> ParseClaims(const std::string& payload);
std::string ClaimsToJson(const UserClaims& c);

// What a request needs before its handler runs.
struct Need {
  enum Kind { kOpen, kToken, kBucket, kAdmin } kind = kToken;
  std::string bucket;  // kBucket
  uint64_t perm = 0;   // kBucket: the bits; kAdmin: access::kAdmin
};
Need NeedOf(const Request& req, bool proxy);

// Seconds a redirect's grant is valid.
inline constexpr int64_t kGrantLifetimeS = 30;
inline constexpr const char* kGrantParam = "aisle_grant";

class UserAuth {
 public:
  // `secret` must outlive this (required: --auth refuses to start without one).
  explicit UserAuth(const ClusterSecret* secret) : secret_(secret) {}
  const ClusterSecret& secret() const { return *secret_; }

  std::string IssueToken(const UserClaims& c) const;
  // Verifies a bearer token at `now_s` (form, alg, signature, claims, expiry).
  Result<UserClaims> VerifyToken(std::string_view token, int64_t now_s) const;
  // The same, remembering verified tokens for kTokenCacheS seconds (a client sends one token
  // with every request; verifying costs a JSON parse and an HMAC). Thread-safe.
  Result<std::shared_ptr<const UserClaims>> VerifyTokenCached(std::string_view token,
                                                              int64_t now_s) const;
  // A grant for exactly (method, path) held by `user` with `perm`, valid until `exp_s`.
  std::string MakeGrant(std::string_view method, std::string_view path, std::string_view user,
                        uint64_t perm, int64_t exp_s) const;
  Result<UserClaims> VerifyGrant(std::string_view grant, std::string_view method,
                                 std::string_view path, int64_t now_s) const;

 private:
  struct Cached {
    std::shared_ptr<const UserClaims> claims;
    int64_t until_s = 0;  // cached until (then verified again)
  };
  struct Hash {  // lookups by string_view, without a copy of the token
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Cached, Hash, std::equal_to<>> tokens;  // GUARDED_BY(mu)
  };
  const ClusterSecret* secret_;
  mutable std::array<Shard, 16> cache_;
};

// Seconds a verified token is remembered; entries per cache shard before it is emptied.
inline constexpr int64_t kTokenCacheS = 5;
inline constexpr size_t kTokenCacheShardEntries = 1024;

// The outcome of AdmitUser, for the grant of a redirect.
struct UserAdmission {
  bool checked = false;  // auth is on and this was a client's request with a need
  std::string user;
  Need need;
};

// Null auth: auth is off (every request admitted). Verified node-to-node requests are admitted.
// On a refusal answers 401 (no/invalid/expired token or grant) or 403 (not permitted) in the AIS
// error shape and returns false.
bool AdmitUser(const UserAuth* auth, const Request& req, Response& resp, const NodeContext& node,
               bool proxy, UserAdmission* out);
// When `resp` redirects (301/307 with Location) an admitted request, adds a grant for it.
void AddGrant(const UserAuth* auth, const UserAdmission& adm, const Request& req, Response& resp);

}  // namespace aisle::api
