#include "server/s3/s3_auth.h"

#include <algorithm>
#include <ctime>

#include "common/text.h"
#include "server/s3/s3_crypto.h"

namespace aisle::api::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
const char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

AuthError Err(std::string code, std::string message, int http = 403) {
  return AuthError{http, std::move(code), std::move(message)};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ::tolower);
  return out;
}

// Trims and collapses runs of spaces, as SigV4 canonical headers require.
std::string CanonicalValue(std::string_view v) {
  v = TrimSpace(v);
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// 20060102T150405Z -> unix seconds; -1 when malformed.
int64_t ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
  std::tm tm{};
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), se = num(13, 2);
  if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || se < 0) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm));
}

std::string CanonicalQuery(const Request& req, bool presigned) {
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : req.query) {
    if (presigned && k == "X-Amz-Signature") continue;
    q.emplace_back(UriEncode(k, true), UriEncode(v, true));
  }
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

struct Parsed {
  std::string access_key, scope_date, region, service, signed_headers, signature, amz_date;
  std::string payload_hash;
  bool presigned = false;
};

std::optional<AuthError> ParseCredential(std::string_view cred, Parsed* p) {
  // AK/20060102/region/s3/aws4_request; the access key itself has no '/'.
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t s = cred.find('/', start);
    parts.emplace_back(cred.substr(start, s - start));
    if (s == std::string_view::npos) break;
    start = s + 1;
  }
  if (parts.size() != 5 || parts[4] != "aws4_request")
    return Err("AuthorizationHeaderMalformed", "malformed credential \"" + std::string(cred) + "\"",
               400);
  p->access_key = parts[0];
  p->scope_date = parts[1];
  p->region = parts[2];
  p->service = parts[3];
  return std::nullopt;
}

std::optional<AuthError> ParseHeaderAuth(const Request& req, std::string_view auth, Parsed* p) {
  auth.remove_prefix(kAlgorithm.size());
  size_t pos = 0;
  while (pos < auth.size()) {
    size_t comma = auth.find(',', pos);
    if (comma == std::string_view::npos) comma = auth.size();
    std::string_view item = TrimSpace(auth.substr(pos, comma - pos));
    pos = comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = TrimSpace(item.substr(0, eq)), v = TrimSpace(item.substr(eq + 1));
    if (k == "Credential") {
      if (auto e = ParseCredential(v, p)) return e;
    } else if (k == "SignedHeaders") {
      p->signed_headers = std::string(v);
    } else if (k == "Signature") {
      p->signature = std::string(v);
    }
  }
  if (p->access_key.empty() || p->signed_headers.empty() || p->signature.empty())
    return Err("AuthorizationHeaderMalformed", "malformed AWS4-HMAC-SHA256 Authorization header",
               400);
  p->amz_date = req.headers.Get("x-amz-date");
  if (p->amz_date.empty()) return Err("AccessDenied", "missing x-amz-date header");
  p->payload_hash = req.headers.Get("x-amz-content-sha256");
  if (p->payload_hash.empty()) p->payload_hash = "UNSIGNED-PAYLOAD";
  return std::nullopt;
}

std::optional<AuthError> ParseQueryAuth(const Request& req, Parsed* p, int64_t now_s) {
  if (req.Query("X-Amz-Algorithm").value_or("") != kAlgorithm)
    return Err("AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256",
               400);
  if (auto e = ParseCredential(req.Query("X-Amz-Credential").value_or(""), p)) return e;
  p->amz_date = req.Query("X-Amz-Date").value_or("");
  p->signed_headers = req.Query("X-Amz-SignedHeaders").value_or("");
  p->signature = req.Query("X-Amz-Signature").value_or("");
  std::string expires = req.Query("X-Amz-Expires").value_or("");
  int64_t t = ParseAmzDate(p->amz_date);
  int64_t exp = -1;
  if (!expires.empty() && expires.size() < 10 &&
      std::all_of(expires.begin(), expires.end(), ::isdigit))
    exp = std::stoll(expires);
  if (t < 0 || exp < 0 || p->signed_headers.empty() || p->signature.empty())
    return Err("AuthorizationQueryParametersError", "malformed presigned URL", 400);
  if (exp > 7 * 24 * 3600)
    return Err("AuthorizationQueryParametersError", "X-Amz-Expires must be at most 604800", 400);
  if (now_s > t + exp) return Err("AccessDenied", "Request has expired");
  if (t > now_s + 15 * 60) return Err("AccessDenied", "Request is not valid yet");
  p->payload_hash = req.Query("X-Amz-Content-Sha256").value_or("UNSIGNED-PAYLOAD");
  p->presigned = true;
  return std::nullopt;
}

std::string SigningKey(const std::string& secret, const Parsed& p) {
  std::string k = HmacSha256("AWS4" + secret, p.scope_date);
  k = HmacSha256(k, p.region);
  k = HmacSha256(k, p.service);
  return HmacSha256(k, "aws4_request");
}

}  // namespace

namespace {

// Hex SigV4 signature of `req` with the given canonical URI (and Host, when overridden).
std::string Signature(const Request& req, const Parsed& p, const std::string& uri,
                      const std::string& host_override, const std::string& scope,
                      const std::string& key) {
  std::string canon = req.method + "\n" + uri + "\n" + CanonicalQuery(req, p.presigned) + "\n";
  size_t pos = 0;
  const std::string& sh = p.signed_headers;
  while (pos <= sh.size()) {
    size_t semi = sh.find(';', pos);
    if (semi == std::string::npos) semi = sh.size();
    std::string name = Lower(std::string_view(sh).substr(pos, semi - pos));
    pos = semi + 1;
    std::string value;
    if (name == "host" && !host_override.empty()) {
      value = host_override;
    } else {
      bool first = true;
      for (const auto& [k, v] : req.headers.items()) {
        if (Lower(k) != name) continue;
        if (!first) value += ',';
        value += CanonicalValue(v);
        first = false;
      }
    }
    canon += name + ":" + value + "\n";
  }
  canon += "\n" + p.signed_headers + "\n" + p.payload_hash;
  std::string to_sign =
      std::string(kAlgorithm) + "\n" + p.amz_date + "\n" + scope + "\n" + ToHex(Sha256(canon));
  return ToHex(HmacSha256(key, to_sign));
}

}  // namespace

namespace {

// Sub-resources that are part of a SigV2 canonical resource, in sorted order.
constexpr const char* kV2SubResources[] = {"acl",
                                           "cors",
                                           "delete",
                                           "lifecycle",
                                           "location",
                                           "logging",
                                           "notification",
                                           "partNumber",
                                           "policy",
                                           "requestPayment",
                                           "response-cache-control",
                                           "response-content-disposition",
                                           "response-content-encoding",
                                           "response-content-language",
                                           "response-content-type",
                                           "response-expires",
                                           "restore",
                                           "tagging",
                                           "torrent",
                                           "uploadId",
                                           "uploads",
                                           "versionId",
                                           "versioning",
                                           "versions",
                                           "website"};

// The secret of `access_key`: a static key, else a user's key (*user set).
std::optional<std::string> FindSecret(const S3Options& opts, const std::string& access_key,
                                      std::shared_ptr<const UserClaims>* user) {
  for (const auto& [ak, sk] : opts.keys)
    if (ak == access_key) return sk;
  if (!opts.user_key) return std::nullopt;
  std::optional<UserS3Key> k = opts.user_key(access_key);
  if (!k) return std::nullopt;
  *user = std::move(k->user);
  return std::move(k->secret);
}

}  // namespace

// Legacy SigV2 presigned URLs (?AWSAccessKeyId=&Expires=&Signature=): what boto3 < 1.36
// and s3cmd signurl generate by default. Header SigV2 is not accepted.
std::variant<AuthInfo, AuthError> VerifyV2Query(const Request& req, const S3Options& opts,
                                                int64_t now_s) {
  std::string ak = req.Query("AWSAccessKeyId").value_or("");  // a public entry point
  std::string expires = req.Query("Expires").value_or("");
  if (expires.empty() || expires.size() > 12 ||
      expires.find_first_not_of("0123456789") != std::string::npos)
    return Err("AccessDenied", "Query-string authentication requires the Expires parameter");
  if (now_s > std::stoll(expires)) return Err("AccessDenied", "Request has expired");
  std::shared_ptr<const UserClaims> user;
  std::optional<std::string> secret = FindSecret(opts, ak, &user);
  if (!secret)
    return Err("InvalidAccessKeyId",
               "The AWS Access Key Id you provided does not exist in our records.");
  std::string amz;  // x-amz-* headers, sorted
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [k, v] : req.headers.items()) {
    std::string n = Lower(k);
    if (n.rfind("x-amz-", 0) == 0) hs.emplace_back(n, CanonicalValue(v));
  }
  std::sort(hs.begin(), hs.end());
  for (const auto& [k, v] : hs) amz += k + ":" + v + "\n";
  std::string sub;
  for (const char* r : kV2SubResources) {
    auto v = req.Query(r);
    if (!v) continue;
    sub += sub.empty() ? "?" : "&";
    sub += r;
    if (!v->empty()) sub += "=" + *v;
  }
  std::string head = req.method + "\n" + req.headers.Get("Content-MD5") + "\n" +
                     req.headers.Get("Content-Type") + "\n" + expires + "\n" + amz;
  std::string want = req.Query("Signature").value_or("");
  std::string path = UriEncode(req.path, false);
  std::vector<std::string> resources = {path};
  if (req.path.rfind("/s3/", 0) == 0) resources.push_back(UriEncode(req.path.substr(3), false));
  for (const auto& res : resources) {
    if (SafeEqual(Base64(HmacSha1(*secret, head + res + sub)), want)) {
      AuthInfo info;
      info.verified = true;
      info.access_key = ak;
      info.user = user;
      info.payload_hash = "UNSIGNED-PAYLOAD";
      return info;
    }
  }
  return Err("SignatureDoesNotMatch",
             "The request signature we calculated does not match the signature you provided. "
             "Check your key and signing method.");
}

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::variant<AuthInfo, AuthError> VerifyRequest(const Request& req, const S3Options& opts,
                                                int64_t now_s) {
  AuthInfo info;
  info.payload_hash = req.headers.Get("x-amz-content-sha256");
  if (info.payload_hash.empty()) info.payload_hash = "UNSIGNED-PAYLOAD";
  if (opts.keys.empty() && !opts.auth) return info;

  std::string auth = req.headers.Get("Authorization");
  Parsed p;
  if (auth.rfind(kAlgorithm, 0) == 0) {
    if (auto e = ParseHeaderAuth(req, auth, &p)) return *e;
    int64_t t = ParseAmzDate(p.amz_date);
    if (t < 0) return Err("AccessDenied", "malformed x-amz-date \"" + p.amz_date + "\"");
    if (t < now_s - opts.max_skew_s || t > now_s + opts.max_skew_s)
      return Err("RequestTimeTooSkewed",
                 "The difference between the request time and the server's time is too large.");
  } else if (req.Query("X-Amz-Signature")) {
    if (auto e = ParseQueryAuth(req, &p, now_s)) return *e;
  } else if (req.Query("AWSAccessKeyId") && req.Query("Signature")) {
    return VerifyV2Query(req, opts, now_s);
  } else if (!auth.empty()) {
    return Err("AccessDenied", "only AWS Signature Version 4 is supported");
  } else {
    return Err("AccessDenied", "Access Denied (anonymous requests are not allowed)");
  }
  if (p.amz_date.substr(0, 8) != p.scope_date)
    return Err("SignatureDoesNotMatch", "credential scope date does not match x-amz-date");
  std::shared_ptr<const UserClaims> user;
  std::optional<std::string> secret = FindSecret(opts, p.access_key, &user);
  if (!secret)
    return Err("InvalidAccessKeyId",
               "The AWS Access Key Id you provided does not exist in our records.");

  std::string scope = p.scope_date + "/" + p.region + "/" + p.service + "/aws4_request";
  std::string key = SigningKey(*secret, p);
  std::string want = Lower(p.signature);
  std::string sig = Signature(req, p, UriEncode(req.path, false), "", scope, key);
  if (!SafeEqual(sig, want) && (req.path == "/s3" || req.path.rfind("/s3/", 0) == 0)) {
    // Clients given an endpoint with a path (http://host:port/s3) differ on what they sign:
    // s3cmd signs the path without the "/s3" and "host:port/s3" as the Host.
    std::string rest = req.path.size() > 3 ? req.path.substr(3) : "/";
    std::string host = req.headers.Get("Host");
    for (const std::string& h : {host + "/s3", host}) {
      std::string alt = Signature(req, p, UriEncode(rest, false), h, scope, key);
      if (SafeEqual(alt, want)) {
        sig = alt;
        break;
      }
    }
  }
  if (!SafeEqual(sig, want))
    return Err("SignatureDoesNotMatch",
               "The request signature we calculated does not match the signature you provided. "
               "Check your key and signing method.");
  info.verified = true;
  info.access_key = p.access_key;
  info.user = std::move(user);
  info.payload_hash = p.payload_hash;
  info.amz_date = p.amz_date;
  info.scope = scope;
  info.signing_key = key;
  info.seed_signature = sig;
  return info;
}

std::string ChunkSignature(const AuthInfo& auth, const std::string& prev_signature,
                           const std::string& chunk_sha256_hex) {
  std::string to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n" + auth.amz_date + "\n" + auth.scope + "\n" +
                        prev_signature + "\n" + kEmptySha256 + "\n" + chunk_sha256_hex;
  return ToHex(HmacSha256(auth.signing_key, to_sign));
}

}  // namespace aisle::api::s3
