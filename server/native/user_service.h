// The proxy's token service, in AIStore AuthN's shapes (docs/API.md "Users and tokens"): login
// (POST /v1/users/NAME {"password"} -> {"token"}) and user management for admins (add, list,
// update, remove). Users and their permissions live in DATA_DIR/users.json (atomic write +
// fsync), passwords as salted PBKDF2-SHA256, with the users' S3 keys (access key and secret;
// SigV4 needs the secret itself). Failed logins for a user make the next attempt
// wait (exponential, capped; 429 with Retry-After before then).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/api/user_auth.h"

namespace aisle::api {

class UserService {
 public:
  struct User {
    std::string id;
    bool admin = false;
    std::vector<BucketAcl> buckets;
    std::string salt;  // hex
    std::string hash;  // hex PBKDF2-SHA256
    int iterations = 0;
    std::vector<std::pair<std::string, std::string>> s3_keys;  // access key, secret
  };
  // Loads DIR/users.json (none: no users yet). With a non-empty `admin_password` and no user
  // "admin", creates the admin (first start). `auth` must outlive the service.
  static Result<std::unique_ptr<UserService>> Open(const std::string& dir, const UserAuth* auth,
                                                   NodeContext node,
                                                   const std::string& admin_password);
  // /v1/users[/NAME]; the caller (AdmitUser) already required an admin except for login.
  void Handle(Request& req, Response& resp, std::string_view tail);

  // Password check with the throttle; the token on success. kUnavailable-like refusals:
  // 401 (wrong user or password) and 429 (too soon after failures), with Retry-After seconds.
  struct LoginResult {
    int status = 200;
    std::string token_or_error;
    int retry_after_s = 0;
  };
  LoginResult Login(const std::string& user, const std::string& password, int64_t ttl_s);

  // The user holding S3 access key `access_key` and its secret (S3 requests under --auth).
  struct S3KeyOwner {
    std::string secret;
    std::shared_ptr<const UserClaims> user;
  };
  std::optional<S3KeyOwner> FindS3Key(const std::string& access_key);

 private:
  UserService(std::string dir, const UserAuth* auth, NodeContext node)
      : dir_(std::move(dir)), auth_(auth), node_(std::move(node)) {}
  Status SaveLocked();
  // /v1/users/NAME/s3keys[/AK]: add (POST), list (GET), remove (DELETE). Holds mu_.
  void HandleS3Keys(Request& req, Response& resp, const std::string& name,
                    const std::string& access_key);
  struct Failures {
    int count = 0;
    int64_t next_ok_ms = 0;
  };

  std::string dir_;
  const UserAuth* auth_;
  NodeContext node_;
  std::mutex mu_;
  std::map<std::string, User> users_;         // GUARDED_BY(mu_)
  std::map<std::string, Failures> failures_;  // GUARDED_BY(mu_)
};

// Salted PBKDF2-SHA256 (hex), the user store's hash.
std::string HashPassword(std::string_view password, std::string_view salt_hex, int iterations);

}  // namespace aisle::api
