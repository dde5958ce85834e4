#include "server/s3/s3_api.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>

#include "server/s3/s3_access.h"
#include "server/s3/s3_multipart.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

constexpr std::string_view kPrefix = "/s3";

std::string HostWithoutPort(std::string host) {
  if (!host.empty() && host.front() == '[') return "";  // IPv6 literal: never a bucket
  size_t colon = host.rfind(':');
  if (colon != std::string::npos) host.resize(colon);
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  return host;
}

bool IsIpv4(const std::string& host) {
  in_addr a;
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1;
}

}  // namespace

S3Api::S3Api(storage::Store* store, S3Options opts, NodeContext node)
    : store_(store),
      opts_(std::move(opts)),
      node_(std::move(node)),
      mpu_(std::make_unique<MultipartStore>(store)) {}

S3Api::~S3Api() = default;

std::string VirtualHostBucketOf(const Request& req, const std::string& vhost_domain,
                                const std::function<bool(const std::string&)>& bucket_exists) {
  std::string host = HostWithoutPort(req.headers.Get("Host"));
  if (host.empty() || IsIpv4(host)) return "";
  if (!vhost_domain.empty()) {
    std::string domain = vhost_domain;
    std::transform(domain.begin(), domain.end(), domain.begin(), ::tolower);
    // BUCKET may itself contain dots: everything before ".<domain>".
    if (host.size() > domain.size() + 1 && host.ends_with("." + domain))
      return host.substr(0, host.size() - domain.size() - 1);
    return "";
  }
  size_t dot = host.find('.');
  if (dot == std::string::npos || dot == 0) return "";
  // Without a configured domain, only an existing bucket makes the Host unambiguous.
  std::string bucket = host.substr(0, dot);
  return bucket_exists(bucket) ? bucket : "";
}

std::string S3Api::VirtualHostBucket(const Request& req) const {
  return VirtualHostBucketOf(req, opts_.vhost_domain,
                             [&](const std::string& b) { return store_->HeadBucket(b).ok(); });
}

bool MatchesS3(const Request& req, const std::function<std::string()>& vhost_bucket) {
  std::string_view p = req.path;
  if (p == kPrefix || p.substr(0, kPrefix.size() + 1) == "/s3/") return true;
  if (p.substr(0, 4) == "/v1/" || p == "/v1") return false;
  return !vhost_bucket().empty();
}

S3Target ParseS3Target(const Request& req, const std::function<std::string()>& vhost_bucket) {
  S3Target t;
  std::string_view p = req.path;
  if (p == kPrefix || p.substr(0, kPrefix.size() + 1) == "/s3/") {
    p.remove_prefix(kPrefix.size());
    while (!p.empty() && p.front() == '/') p.remove_prefix(1);
    size_t slash = p.find('/');
    t.bucket = std::string(p.substr(0, slash));
    if (slash != std::string_view::npos) t.key = std::string(p.substr(slash + 1));
    return t;
  }
  t.virtual_host = true;
  t.bucket = vhost_bucket();
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  t.key = std::string(p);
  return t;
}

bool S3Api::Matches(const Request& req) const {
  return MatchesS3(req, [&] { return VirtualHostBucket(req); });
}

S3Target S3Api::Parse(const Request& req) const {
  return ParseS3Target(req, [&] { return VirtualHostBucket(req); });
}

void S3Api::Handle(Request& req, Response& resp) {
  if (!Matches(req)) {
    return WriteS3Error(req, resp, 404, "NoSuchBucket",
                        "invalid URL path \"" + req.path +
                            "\": S3 requests go to /s3/BUCKET[/KEY] (or BUCKET.host)");
  }
  S3Target t = Parse(req);
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  // Under --auth a relaying proxy verified and authorized the request (it keeps the users).
  auto verified = RelayedUnderAuth(req, opts_)
                      ? std::variant<AuthInfo, AuthError>(RelayedAuth(req, opts_, now_s))
                      : VerifyRequest(req, opts_, now_s);
  if (auto* info = std::get_if<AuthInfo>(&verified); info && !RelayedUnderAuth(req, opts_)) {
    if (auto e = Authorize(req, t, *info, opts_)) verified = std::move(*e);
  }
  if (auto* e = std::get_if<AuthError>(&verified)) {
    WriteS3Error(req, resp, e->http, e->code, e->message);
    resp.close = req.has_body;  // do not read a body we refuse
    return;
  }
  S3Ctx c{store_,
          mpu_.get(),
          &opts_,
          &node_,
          std::get<AuthInfo>(std::move(verified)),
          std::move(t.bucket),
          std::move(t.key),
          nullptr};
  resp.headers.Set("x-amz-request-id", "0");
  resp.headers.Set("Server", "Aisle");
  if (c.bucket.empty()) {
    if (req.method == "GET" || req.method == "HEAD") return ListBuckets(c, req, resp);
    return WriteS3Error(req, resp, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this resource.");
  }
  if (c.key.empty()) return BucketRequest(c, req, resp);
  ObjectRequest(c, req, resp);
}

bool IsDataRequest(const Request& req, const S3Target& t) {
  if (t.bucket.empty() || t.key.empty()) return false;
  return req.method == "GET" || req.method == "PUT" || req.method == "HEAD" ||
         req.method == "DELETE" || req.method == "POST";
}

void S3Redirect(const Request& req, Response& resp, const S3Target& t,
                const std::string& location) {
  resp.status = 307;
  resp.headers.Set("Location", location);
  resp.headers.Set("Content-Type", "text/xml; charset=utf-8");
  XmlWriter w;
  w.Open("Error").Leaf("Code", "TemporaryRedirect").Leaf("Message", "Redirect");
  w.Leaf("Endpoint", location).Leaf("Bucket", t.bucket).Close("Error");
  resp.body = req.method == "HEAD" ? "" : w.Take();
}

}  // namespace aisle::api::s3
