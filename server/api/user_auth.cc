#include "server/api/user_auth.h"

#include <strings.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "common/clock.h"
#include "common/net/jwt.h"
#include "server/api/errors.h"

namespace aisle::api {
namespace {

using nlohmann::json;

Result<uint64_t> PermOf(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string::npos)
      return std::stoull(s);
  }
  return Status::InvalidArgument("malformed token: perm must be a number");
}

std::string_view FirstComponent(std::string_view tail) { return tail.substr(0, tail.find('/')); }

std::string GrantCanonical(std::string_view method, std::string_view path, std::string_view user,
                           uint64_t perm, int64_t exp_s) {
  std::string s = "aisle-grant-v1\n";
  s.append(method).append("\n").append(path).append("\n").append(user).append("\n");
  s.append(std::to_string(perm)).append("\n").append(std::to_string(exp_s));
  return s;
}

}  // namespace

Result<uint64_t> ParsePerm(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty permission (expecting r, w, l)");
  if (text.find_first_not_of("0123456789") == std::string_view::npos && text.size() <= 19)
    return std::stoull(std::string(text));
  uint64_t p = 0;
  for (char c : text) {
    if (c == 'r')
      p |= access::kRead;
    else if (c == 'w')
      p |= access::kWrite;
    else if (c == 'l')
      p |= access::kList;
    else
      return Status::InvalidArgument("invalid permission \"" + std::string(text) +
                                     "\" (expecting letters r, w, l or a number)");
  }
  return p;
}

bool UserClaims::Allows(std::string_view bucket, uint64_t need) const {
  if (admin) return true;
  uint64_t have = cluster_perm;
  for (const auto& b : buckets)
    if (b.bucket == bucket) have |= b.perm;
  return (have & need) == need;
}

Result<UserClaims> ParseClaims(const std::string& payload) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("malformed token: the payload is not a JSON object");
  UserClaims c;
  auto sub = j.find("sub");
  if (sub == j.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty())
    return Status::InvalidArgument("malformed token: no sub (user)");
  c.user = sub->get<std::string>();
  auto exp = j.find("exp");
  if (exp == j.end() || !exp->is_number())
    return Status::InvalidArgument("malformed token: no exp (expiry)");
  c.exp = exp->is_number_float() ? static_cast<int64_t>(exp->get<double>()) : exp->get<int64_t>();
  if (auto a = j.find("admin"); a != j.end()) {
    if (!a->is_boolean()) return Status::InvalidArgument("malformed token: admin must be a bool");
    c.admin = a->get<bool>();
  }
  if (auto bs = j.find("buckets"); bs != j.end() && !bs->is_null()) {
    if (!bs->is_array()) return Status::InvalidArgument("malformed token: buckets is not a list");
    for (const auto& b : *bs) {
      auto bck = b.is_object() ? b.find("bck") : b.end();
      auto perm = b.is_object() ? b.find("perm") : b.end();
      if (bck == b.end() || !bck->is_object() || perm == b.end())
        return Status::InvalidArgument("malformed token: buckets[] needs bck and perm");
      auto name = bck->find("name");
      if (name == bck->end() || !name->is_string())
        return Status::InvalidArgument("malformed token: buckets[].bck needs a name");
      std::string provider = bck->value("provider", std::string("ais"));
      AISLE_ASSIGN_OR_RETURN(uint64_t p, PermOf(*perm));
      if (provider == "ais" || provider.empty()) c.buckets.push_back({name->get<std::string>(), p});
    }
  }
  if (auto cs = j.find("clusters"); cs != j.end() && !cs->is_null()) {
    if (!cs->is_array()) return Status::InvalidArgument("malformed token: clusters is not a list");
    for (const auto& cl : *cs) {
      auto perm = cl.is_object() ? cl.find("perm") : cl.end();
      if (perm == cl.end())
        return Status::InvalidArgument("malformed token: clusters[] needs perm");
      AISLE_ASSIGN_OR_RETURN(uint64_t p, PermOf(*perm));
      c.cluster_perm |= p;
    }
  }
  return c;
}

std::string ClaimsToJson(const UserClaims& c) {
  json j = {{"sub", c.user}, {"exp", c.exp}, {"admin", c.admin}};
  json bs = json::array();
  for (const auto& b : c.buckets)
    bs.push_back(
        {{"bck", {{"name", b.bucket}, {"provider", "ais"}}}, {"perm", std::to_string(b.perm)}});
  j["buckets"] = bs;
  if (c.cluster_perm) j["clusters"] = json::array({{{"perm", std::to_string(c.cluster_perm)}}});
  return j.dump();
}

Need NeedOf(const Request& req, bool proxy) {
  std::string_view path = req.path;
  Need n;
  if (path.substr(0, 4) != "/v1/") return Need{Need::kOpen, "", 0};  // S3 (SigV4), 404s
  std::string_view rest = path.substr(4);
  size_t slash = rest.find('/');
  std::string_view group = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const std::string& m = req.method;
  bool read = m == "GET" || m == "HEAD";
  auto admin = [] { return Need{Need::kAdmin, "", access::kAdmin}; };
  auto bucket = [&](std::string_view b, uint64_t perm) {
    return Need{Need::kBucket, std::string(b), perm};
  };
  if (group == "health") return Need{Need::kOpen, "", 0};
  if (group == "users") {
    // Login (POST /v1/users/NAME) is how a token is obtained; the rest is user management.
    // NAME/s3keys (a user's S3 keys) is management too.
    std::string_view name = tail;
    while (!name.empty() && name.back() == '/') name.remove_suffix(1);
    if (proxy && m == "POST" && !name.empty() && name.find('/') == std::string_view::npos)
      return Need{Need::kOpen, "", 0};
    return admin();
  }
  // An ETL program's direct put carries its own HMAC token (server/etl/etl_chain.h).
  if (group == "etl" && m == "PUT" && tail.substr(0, 8) == "_object/")
    return Need{Need::kOpen, "", 0};
  if (group == "daemon" || group == "reverse" || group == "cluster" || group == "etl")
    return read ? n : admin();
  if (group == "objects") {
    std::string_view b = FirstComponent(tail);
    if (m == "GET") return bucket(b, access::kGet);
    if (m == "HEAD") return bucket(b, access::kObjHead);
    if (m == "DELETE") return bucket(b, access::kObjDelete);
    if (m == "POST") return bucket(b, access::kObjMove);
    if (req.Query("appendty") || req.Query("archpath")) return bucket(b, access::kAppend);
    return bucket(b, access::kPut);
  }
  if (group == "buckets") {
    std::string_view b = tail;
    while (!b.empty() && b.back() == '/') b.remove_suffix(1);
    if (b.empty()) return read ? n : admin();  // list buckets: any user
    if (m == "HEAD") return bucket(b, access::kBckHead);
    if (m == "GET") return bucket(b, access::kObjList);
    // create, destroy, props, copy/ETL/archive jobs (several buckets): admins.
    return admin();
  }
  // GetBatch names any buckets in its body; metasync is for nodes.
  return admin();
}

std::string UserAuth::IssueToken(const UserClaims& c) const {
  return SignJwt(*secret_, ClaimsToJson(c));
}

Result<UserClaims> UserAuth::VerifyToken(std::string_view token, int64_t now_s) const {
  AISLE_ASSIGN_OR_RETURN(std::string payload, VerifyJwt(*secret_, token));
  AISLE_ASSIGN_OR_RETURN(UserClaims c, ParseClaims(payload));
  if (c.exp <= now_s) return Status::InvalidArgument("token expired");
  return c;
}

Result<std::shared_ptr<const UserClaims>> UserAuth::VerifyTokenCached(std::string_view token,
                                                                      int64_t now_s) const {
  Shard& shard = cache_[std::hash<std::string_view>()(token) % cache_.size()];
  {
    std::lock_guard lk(shard.mu);
    auto it = shard.tokens.find(token);
    if (it != shard.tokens.end() && now_s < it->second.until_s) {
      if (it->second.claims->exp <= now_s) return Status::InvalidArgument("token expired");
      return it->second.claims;
    }
  }
  AISLE_ASSIGN_OR_RETURN(UserClaims c, VerifyToken(token, now_s));
  auto claims = std::make_shared<const UserClaims>(std::move(c));
  std::lock_guard lk(shard.mu);
  if (shard.tokens.size() >= kTokenCacheShardEntries) shard.tokens.clear();
  shard.tokens[std::string(token)] = Cached{claims, now_s + kTokenCacheS};
  return claims;
}

std::string UserAuth::MakeGrant(std::string_view method, std::string_view path,
                                std::string_view user, uint64_t perm, int64_t exp_s) const {
  std::string sig = Base64UrlEncode(secret_->Mac(GrantCanonical(method, path, user, perm, exp_s)));
  return std::to_string(exp_s) + "." + std::to_string(perm) + "." + Base64UrlEncode(user) + "." +
         sig;
}

Result<UserClaims> UserAuth::VerifyGrant(std::string_view grant, std::string_view method,
                                         std::string_view path, int64_t now_s) const {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dot = grant.find('.', start);
    parts.push_back(grant.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  auto number = [](std::string_view s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    return std::stoull(std::string(s));
  };
  if (parts.size() != 4) return Status::InvalidArgument("malformed grant");
  auto exp = number(parts[0]);
  auto perm = number(parts[1]);
  auto user = Base64UrlDecode(parts[2]);
  auto sig = Base64UrlDecode(parts[3]);
  if (!exp || !perm || !user.ok() || !sig.ok()) return Status::InvalidArgument("malformed grant");
  int64_t e = static_cast<int64_t>(*exp);
  std::string want = secret_->Mac(GrantCanonical(method, path, *user, *perm, e));
  if (!ConstantTimeEqual(*sig, want))
    return Status::InvalidArgument("invalid grant (not for this request)");
  if (e <= now_s || e > now_s + 2 * kGrantLifetimeS)
    return Status::InvalidArgument("grant expired");
  UserClaims c;
  c.user = *user;
  c.exp = e;
  c.admin = (*perm & access::kAdmin) != 0;
  c.cluster_perm = *perm;  // only for this path, which the signature pins
  return c;
}

bool AdmitUser(const UserAuth* auth, const Request& req, Response& resp, const NodeContext& node,
               bool proxy, UserAdmission* out) {
  if (!auth || !req.intra_sender.empty()) return true;
  Need need = NeedOf(req, proxy);
  if (need.kind == Need::kOpen) return true;
  int64_t now = NowNs() / 1000000000;
  Result<std::shared_ptr<const UserClaims>> claims = Status::InvalidArgument(
      "authentication required: send Authorization: Bearer <token> (aisle auth login)");
  const std::string* bearer = req.headers.Find("Authorization");
  if (bearer && !bearer->empty()) {
    if (bearer->size() > 7 && strncasecmp(bearer->c_str(), "Bearer ", 7) == 0)
      claims = auth->VerifyTokenCached(std::string_view(*bearer).substr(7), now);
    else
      claims = Status::InvalidArgument("Authorization must be \"Bearer <token>\"");
  } else if (auto g = req.Query(kGrantParam)) {
    auto granted = auth->VerifyGrant(*g, req.method, req.path, now);
    if (granted.ok())
      claims = std::make_shared<const UserClaims>(std::move(granted).value());
    else
      claims = granted.status();
  }
  if (!claims.ok()) {
    resp.headers.Set("WWW-Authenticate", "Bearer");
    WriteError(req, resp, 401, claims.status().message(), node);
    return false;
  }
  const UserClaims& who = **claims;
  bool ok = who.admin || need.kind == Need::kToken ||
            (need.kind == Need::kBucket && who.Allows(need.bucket, need.perm));
  if (!ok) {
    std::string what = need.kind == Need::kAdmin
                           ? "this operation requires an admin"
                           : "no permission for " + req.method + " on ais://" + need.bucket;
    WriteError(req, resp, 403, "user \"" + who.user + "\": " + what, node);
    return false;
  }
  if (out) *out = UserAdmission{true, who.user, need};
  return true;
}

void AddGrant(const UserAuth* auth, const UserAdmission& adm, const Request& req, Response& resp) {
  if (!auth || !adm.checked || (resp.status != 301 && resp.status != 307)) return;
  const std::string* loc = resp.headers.Find("Location");
  if (!loc) return;
  int64_t exp = NowNs() / 1000000000 + kGrantLifetimeS;
  std::string g = auth->MakeGrant(req.method, req.path, adm.user, adm.need.perm, exp);
  std::string url =
      *loc + (loc->find('?') == std::string::npos ? "?" : "&") + kGrantParam + "=" + g;
  resp.headers.Set("Location", std::move(url));
}

}  // namespace aisle::api
