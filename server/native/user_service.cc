#include "server/native/user_service.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "common/net/jwt.h"
#include "server/api/errors.h"
#include "server/storage/file_util.h"

namespace aisle::api {
namespace {

using nlohmann::json;
constexpr int kIterations = 50000;
constexpr int64_t kDefaultTtlS = 24 * 3600;  // AIStore AuthN's default
constexpr int64_t kMaxTtlS = 7 * 24 * 3600;
constexpr int64_t kFirstDelayMs = 500;
constexpr int64_t kMaxDelayMs = 16000;
constexpr size_t kMaxTrackedFailures = 10000;

std::string Hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string RandomSaltHex() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  return Hex(b, sizeof b);
}

json BucketsJson(const std::vector<BucketAcl>& acls) {
  json a = json::array();
  for (const auto& b : acls)
    a.push_back(
        {{"bck", {{"name", b.bucket}, {"provider", "ais"}}}, {"perm", std::to_string(b.perm)}});
  return a;
}

// AIStore's User shape (without secrets) for listings.
json PublicJson(const UserService::User& u) {
  json keys = json::array();
  for (const auto& [ak, sk] : u.s3_keys) keys.push_back(ak);
  return {{"id", u.id},
          {"roles", u.admin ? json::array({"Admin"}) : json::array()},
          {"buckets", BucketsJson(u.buckets)},
          {"s3_keys", keys}};
}

// n random bytes as hex, upper case for access keys (as AWS's look).
std::string RandomHex(size_t n, bool upper) {
  std::vector<unsigned char> b(n);
  RAND_bytes(b.data(), static_cast<int>(n));
  std::string h = Hex(b.data(), n);
  if (upper)
    for (char& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return h;
}

// roles (["Admin"]) or admin (bool), buckets [{bck:{name}, perm}] from a request or the file.
Status ReadRolesAndBuckets(const json& j, UserService::User* u) {
  if (auto r = j.find("roles"); r != j.end() && r->is_array())
    for (const auto& role : *r)
      if (role.is_string() && role.get<std::string>() == "Admin") u->admin = true;
  if (auto a = j.find("admin"); a != j.end() && a->is_boolean()) u->admin = a->get<bool>();
  if (auto bs = j.find("buckets"); bs != j.end() && !bs->is_null()) {
    // The same parser as tokens: one shape for permissions.
    json tmp = {{"sub", "x"}, {"exp", 0}, {"buckets", *bs}};
    AISLE_ASSIGN_OR_RETURN(UserClaims c, ParseClaims(tmp.dump()));
    u->buckets = std::move(c.buckets);
  }
  return Status::OK();
}

std::string PasswordOf(const json& j) {
  for (const char* k : {"password", "pass"})
    if (auto p = j.find(k); p != j.end() && p->is_string()) return p->get<std::string>();
  return "";
}

}  // namespace

std::string HashPassword(std::string_view password, std::string_view salt_hex, int iterations) {
  unsigned char out[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt_hex.data()),
                    static_cast<int>(salt_hex.size()), iterations, EVP_sha256(), sizeof out, out);
  return Hex(out, sizeof out);
}

Result<std::unique_ptr<UserService>> UserService::Open(const std::string& dir, const UserAuth* auth,
                                                       NodeContext node,
                                                       const std::string& admin_password) {
  std::unique_ptr<UserService> s(new UserService(dir, auth, std::move(node)));
  std::ifstream in(dir + "/users.json");
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::InvalidArgument(dir + "/users.json: not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      User u;
      u.id = it.key();
      const json& v = it.value();
      if (!v.is_object()) return Status::InvalidArgument(dir + "/users.json: bad user " + u.id);
      AISLE_RETURN_IF_ERROR(ReadRolesAndBuckets(v, &u));
      u.salt = v.value("salt", "");
      u.hash = v.value("hash", "");
      u.iterations = v.value("iterations", kIterations);
      if (auto ks = v.find("s3_secrets"); ks != v.end() && ks->is_object())
        for (auto k = ks->begin(); k != ks->end(); ++k)
          if (k.value().is_string()) u.s3_keys.emplace_back(k.key(), k.value().get<std::string>());
      s->users_[u.id] = std::move(u);
    }
  }
  if (!admin_password.empty() && !s->users_.count("admin")) {
    User u{"admin", true, {}, RandomSaltHex(), "", kIterations, {}};
    u.hash = HashPassword(admin_password, u.salt, u.iterations);
    std::lock_guard lk(s->mu_);
    s->users_["admin"] = std::move(u);
    AISLE_RETURN_IF_ERROR(s->SaveLocked());
  }
  return s;
}

Status UserService::SaveLocked() {
  json j = json::object();
  for (const auto& [id, u] : users_) {
    json v = PublicJson(u);
    v["salt"] = u.salt;
    v["hash"] = u.hash;
    v["iterations"] = u.iterations;
    json secrets = json::object();
    for (const auto& [ak, sk] : u.s3_keys) secrets[ak] = sk;
    v["s3_secrets"] = secrets;
    j[id] = v;
  }
  return storage::WriteFileAtomic(dir_ + "/users.json", j.dump(1));
}

UserService::LoginResult UserService::Login(const std::string& user, const std::string& password,
                                            int64_t ttl_s) {
  int64_t now_ms = NowNs() / 1000000;
  User u;
  bool known = false;
  {
    std::lock_guard lk(mu_);
    Failures& f = failures_[user];
    if (now_ms < f.next_ok_ms)
      return {429, "too many failed logins for \"" + user + "\": retry later",
              static_cast<int>((f.next_ok_ms - now_ms + 999) / 1000)};
    if (auto it = users_.find(user); it != users_.end()) {
      u = it->second;
      known = true;
    }
  }
  // Hash even for an unknown user: the answer's time does not tell which names exist.
  std::string salt = known ? u.salt : std::string(32, '0');
  std::string got = HashPassword(password, salt, known ? u.iterations : kIterations);
  std::lock_guard lk(mu_);
  if (!known || !ConstantTimeEqual(got, u.hash)) {
    if (failures_.size() > kMaxTrackedFailures) failures_.clear();
    Failures& f = failures_[user];
    f.count = std::min(f.count + 1, 16);
    f.next_ok_ms = now_ms + std::min(kMaxDelayMs, kFirstDelayMs << (f.count - 1));
    return {401, "invalid user name or password", 0};
  }
  failures_.erase(user);
  UserClaims c;
  c.user = u.id;
  c.admin = u.admin;
  c.buckets = u.buckets;
  c.exp = now_ms / 1000 + (ttl_s > 0 ? std::min(ttl_s, kMaxTtlS) : kDefaultTtlS);
  return {200, auth_->IssueToken(c), 0};
}

std::optional<UserService::S3KeyOwner> UserService::FindS3Key(const std::string& access_key) {
  std::lock_guard lk(mu_);
  for (const auto& [id, u] : users_) {
    for (const auto& [ak, sk] : u.s3_keys) {
      if (ak != access_key) continue;
      auto c = std::make_shared<UserClaims>();
      c->user = u.id;
      c->admin = u.admin;
      c->buckets = u.buckets;
      return S3KeyOwner{sk, std::move(c)};
    }
  }
  return std::nullopt;
}

void UserService::HandleS3Keys(Request& req, Response& resp, const std::string& name,
                               const std::string& access_key) {
  auto it = users_.find(name);
  if (it == users_.end())
    return WriteError(req, resp, 404, "user \"" + name + "\" not found", node_);
  User& u = it->second;
  if (req.method == "GET" && access_key.empty()) {
    resp.body = PublicJson(u)["s3_keys"].dump();
    return;
  }
  if (req.method == "POST" && access_key.empty()) {
    std::string ak = "AK" + RandomHex(9, true);  // 20 characters, as AWS's
    std::string sk = RandomHex(20, false);
    u.s3_keys.emplace_back(ak, sk);
    if (Status st = SaveLocked(); !st.ok()) {
      u.s3_keys.pop_back();
      return WriteError(req, resp, st, node_);
    }
    resp.body = json{{"user", name}, {"access_key", ak}, {"secret_key", sk}}.dump();
    return;
  }
  if (req.method == "DELETE" && !access_key.empty()) {
    auto k = std::find_if(u.s3_keys.begin(), u.s3_keys.end(),
                          [&](const auto& p) { return p.first == access_key; });
    if (k == u.s3_keys.end())
      return WriteError(req, resp, 404,
                        "user \"" + name + "\" has no S3 key \"" + access_key + "\"", node_);
    u.s3_keys.erase(k);
    if (Status st = SaveLocked(); !st.ok()) return WriteError(req, resp, st, node_);
    return;
  }
  WriteError(req, resp, 405, "method " + req.method + " not allowed on " + req.path, node_);
}

void UserService::Handle(Request& req, Response& resp, std::string_view tail) {
  while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
  std::string name(tail);
  if (size_t slash = name.find('/'); slash != std::string::npos) {
    // NAME/s3keys[/ACCESS_KEY]
    std::string rest = name.substr(slash + 1);
    name.resize(slash);
    std::string ak;
    if (size_t s2 = rest.find('/'); s2 != std::string::npos) {
      ak = rest.substr(s2 + 1);
      rest.resize(s2);
    }
    if (rest != "s3keys" || ak.find('/') != std::string::npos)
      return WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node_);
    resp.headers.Set("Content-Type", "application/json");
    std::lock_guard lk(mu_);
    return HandleS3Keys(req, resp, name, ak);
  }
  auto body = req.ReadBody(1 << 20);
  if (!body.ok()) return WriteError(req, resp, body.status(), node_);
  json j = body->empty() ? json::object() : json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return WriteError(req, resp, 400, "the request body is not a JSON object", node_);
  resp.headers.Set("Content-Type", "application/json");
  if (req.method == "POST" && !name.empty()) {  // login
    int64_t ttl = 0;
    // AIStore's LoginMsg.expires_in is a Go duration: nanoseconds.
    if (auto e = j.find("expires_in"); e != j.end() && e->is_number_integer())
      ttl = e->get<int64_t>() / 1000000000;
    LoginResult r = Login(name, PasswordOf(j), ttl);
    if (r.status != 200) {
      if (r.retry_after_s) resp.headers.Set("Retry-After", std::to_string(r.retry_after_s));
      return WriteError(req, resp, r.status, r.token_or_error, node_);
    }
    resp.body = json{{"token", r.token_or_error}}.dump();
    return;
  }
  std::lock_guard lk(mu_);
  if (req.method == "GET") {
    if (name.empty()) {
      json all = json::object();
      for (const auto& [id, u] : users_) all[id] = PublicJson(u);
      resp.body = all.dump();
      return;
    }
    auto it = users_.find(name);
    if (it == users_.end())
      return WriteError(req, resp, 404, "user \"" + name + "\" not found", node_);
    resp.body = PublicJson(it->second).dump();
    return;
  }
  if ((req.method == "POST" && name.empty()) || req.method == "PUT") {
    User u;
    if (req.method == "POST") {
      u.id = j.value("id", "");
      if (u.id.empty() || u.id.find_first_of("/ \t\n") != std::string::npos)
        return WriteError(req, resp, 400, "invalid user id \"" + u.id + "\"", node_);
      if (users_.count(u.id))
        return WriteError(req, resp, 409, "user \"" + u.id + "\" already exists", node_);
    } else {
      auto it = users_.find(name);
      if (it == users_.end())
        return WriteError(req, resp, 404, "user \"" + name + "\" not found", node_);
      u = it->second;
    }
    if (Status st = ReadRolesAndBuckets(j, &u); !st.ok()) return WriteError(req, resp, st, node_);
    std::string pw = PasswordOf(j);
    if (pw.empty() && u.hash.empty())
      return WriteError(req, resp, 400, "a new user needs a password", node_);
    if (!pw.empty()) {
      u.salt = RandomSaltHex();
      u.iterations = kIterations;
      u.hash = HashPassword(pw, u.salt, u.iterations);
    }
    users_[u.id] = u;
    if (Status st = SaveLocked(); !st.ok()) return WriteError(req, resp, st, node_);
    resp.body = PublicJson(u).dump();
    return;
  }
  if (req.method == "DELETE" && !name.empty()) {
    if (!users_.erase(name))
      return WriteError(req, resp, 404, "user \"" + name + "\" not found", node_);
    if (Status st = SaveLocked(); !st.ok()) return WriteError(req, resp, st, node_);
    return;
  }
  WriteError(req, resp, 405, "method " + req.method + " not allowed on " + req.path, node_);
}

}  // namespace aisle::api
