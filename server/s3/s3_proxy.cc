#include "server/s3/s3_proxy.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/clock.h"
#include "common/names.h"
#include "common/net/http_client.h"
#include "server/api/target_routing.h"
#include "server/cluster/target_cluster.h"
#include "server/s3/s3_access.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_relay.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

using nlohmann::json;
constexpr size_t kMaxSmallBody = 1 << 20;

uint64_t JsonNumber(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_string()) return std::strtoull(it->get_ref<const std::string&>().c_str(), nullptr, 10);
  return 0;
}

// A native listing's atime ("02 Jan 06 15:04 UTC", minute precision) -> unix ns; 0 if bad.
int64_t ParseListTime(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%d %b %y %H:%M", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000;
}

// A native list entry (AIStore LsoEnt JSON) as a Store list entry.
storage::ListEntry EntryFromJson(const cluster::ListedEntry& le) {
  storage::ListEntry e;
  e.name = le.name;
  json j = json::parse(le.json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return e;
  e.size = JsonNumber(j, "size");
  e.version = JsonNumber(j, "version");
  if (auto it = j.find("checksum"); it != j.end() && it->is_string())
    e.xxhash = std::strtoull(it->get_ref<const std::string&>().c_str(), nullptr, 16);
  if (auto it = j.find("atime"); it != j.end() && it->is_string())
    e.atime_ns = e.mtime_ns = ParseListTime(it->get<std::string>());
  if (auto it = j.find("mtime_ns"); it != j.end() && it->is_string())
    e.mtime_ns = std::strtoll(it->get_ref<const std::string&>().c_str(), nullptr, 10);
  if (auto it = j.find("etag"); it != j.end() && it->is_string()) e.etag = it->get<std::string>();
  return e;
}

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ServiceUnavailable(const Request& req, Response& resp, const std::string& why) {
  resp.headers.Set("Retry-After", "1");
  WriteS3Error(req, resp, 503, "ServiceUnavailable", why);
}

}  // namespace

S3ProxyApi::S3ProxyApi(cluster::ProxyCluster* cluster, S3Options opts, NodeContext node)
    : cluster_(cluster), opts_(std::move(opts)), node_(std::move(node)) {}

std::string S3ProxyApi::VirtualHostBucket(const Request& req) const {
  return VirtualHostBucketOf(req, opts_.vhost_domain, [&](const std::string& b) {
    return cluster_->bmd()->buckets.count(b) > 0;
  });
}

bool S3ProxyApi::Matches(const Request& req) const {
  return MatchesS3(req, [&] { return VirtualHostBucket(req); });
}

S3Target S3ProxyApi::Parse(const Request& req) const {
  return ParseS3Target(req, [&] { return VirtualHostBucket(req); });
}

void S3ProxyApi::RelayTo(const std::string& url, Request& req, Response& resp) {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  if (!SplitUrl(url, &host, &port, &tls))
    return ServiceUnavailable(req, resp, "bad node URL " + url);
  RelayOptions ro;
  if (tls) ro.tls = cluster_->peers().http().tls();
  // The client's body streams through: signed as UNSIGNED-PAYLOAD (docs/SECURITY.md).
  ro.extra_headers = cluster_->peers().IntraHeaders(req.method, req.target, kUnsignedPayload);
  Status st = RelayInto(host, port, req, resp, ro);
  if (!st.ok()) {
    ServiceUnavailable(req, resp, st.message());
    resp.close = true;  // the client's body may be half-read
  }
}

void S3ProxyApi::RelayToAnyTarget(Request& req, Response& resp, const S3Target& t) {
  // The bucket's HRW "owner" spreads bucket-level requests over the targets.
  const cluster::Node* n = cluster_->smap()->Owner(t.bucket, "");
  if (!n) return ServiceUnavailable(req, resp, "no target is online");
  RelayTo(n->Url(), req, resp);
}

bool S3ProxyApi::CrossOwnerCopy(const Request& req, const S3Target& t) const {
  if (req.method != "PUT" || req.Query("partNumber")) return false;
  const std::string* src = req.headers.Find("x-amz-copy-source");
  if (!src) return false;
  std::string s = PercentDecode(*src, false);
  if (size_t q = s.find("?versionId="); q != std::string::npos) s.resize(q);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  size_t slash = s.find('/');
  if (slash == std::string::npos) return false;  // malformed: the target answers
  auto smap = cluster_->smap();
  const cluster::Node* from = smap->Owner(s.substr(0, slash), s.substr(slash + 1));
  const cluster::Node* to = smap->Owner(t.bucket, t.key);
  return from && to && from->id != to->id;
}

void S3ProxyApi::Handle(Request& req, Response& resp) {
  if (!cluster_->ready())
    return ServiceUnavailable(req, resp, "starting up: the cluster map is not loaded yet");
  S3Target t = Parse(req);
  // Under --auth every request is checked here, before it is relayed: the users' keys live on
  // this proxy, and the node it relays to trusts the signed relay (s3_access.h).
  std::optional<AuthInfo> checked;
  if (opts_.auth && !RelayedUnderAuth(req, opts_)) {
    auto v = VerifyRequest(req, opts_, NowS());
    if (auto* info = std::get_if<AuthInfo>(&v)) {
      if (auto e = Authorize(req, t, *info, opts_)) v = std::move(*e);
    }
    if (auto* e = std::get_if<AuthError>(&v)) {
      WriteS3Error(req, resp, e->http, e->code, e->message);
      resp.close = req.has_body;  // do not read a body we refuse
      return;
    }
    checked = std::get<AuthInfo>(std::move(v));
  }
  if (!t.key.empty()) {
    if (CrossOwnerCopy(req, t)) return CopyAcrossTargets(req, resp, t);
    auto smap = cluster_->smap();
    if (req.method == "GET" || req.method == "HEAD") {
      // Every target that would hold the key is down: "service unavailable", not NoSuchKey
      // (a client that syncs or deletes by what it sees must not see it missing).
      if (const cluster::Node* down =
              smap->AllHoldersDown(t.bucket, t.key, cluster_->bmd()->CopiesOf(t.bucket))) {
        return ServiceUnavailable(req, resp, api::HolderDownMessage(t.bucket, t.key, down->id));
      }
    }
    const cluster::Node* owner = smap->Owner(t.bucket, t.key);
    if (!owner) return ServiceUnavailable(req, resp, "no target is online");
    return RelayTo(owner->Url(), req, resp);
  }
  bool sub = HasSubresource(req);
  const std::string& m = req.method;
  bool own = t.bucket.empty() || (!sub && (m == "PUT" || m == "DELETE" || m == "GET")) ||
             (m == "POST" && req.Query("delete"));
  if (!own) return RelayToAnyTarget(req, resp, t);
  bool control = !t.bucket.empty() && (m == "PUT" || m == "DELETE");
  if (control && !cluster_->is_primary()) {
    std::string primary = cluster_->primary_url();
    if (primary.empty()) return ServiceUnavailable(req, resp, cluster_->NoPrimary().message());
    return RelayTo(primary, req, resp);
  }

  std::variant<AuthInfo, AuthError> verified;
  if (checked)
    verified = std::move(*checked);
  else if (RelayedUnderAuth(req, opts_))
    verified = RelayedAuth(req, opts_, NowS());
  else
    verified = VerifyRequest(req, opts_, NowS());
  if (auto* e = std::get_if<AuthError>(&verified)) {
    WriteS3Error(req, resp, e->http, e->code, e->message);
    resp.close = req.has_body;  // do not read a body we refuse
    return;
  }
  resp.headers.Set("x-amz-request-id", "0");
  resp.headers.Set("Server", "Aisle");
  if (t.bucket.empty()) {
    if (m == "GET" || m == "HEAD") return ListBuckets(req, resp);
    return WriteS3Error(req, resp, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this resource.");
  }
  S3Ctx c{nullptr,  nullptr, &opts_, &node_, std::get<AuthInfo>(std::move(verified)),
          t.bucket, "",      nullptr};
  if (m == "PUT") return CreateBucket(c, req, resp);
  if (m == "DELETE") return DeleteBucket(c, req, resp);
  if (m == "POST") return DeleteObjects(c, req, resp);
  if (!cluster_->bmd()->buckets.count(t.bucket))
    return WriteS3Error(req, resp, 404, "NoSuchBucket", "The specified bucket does not exist");
  c.list = [this](const std::string& bucket,
                  const storage::ListOptions& lo) -> Result<storage::ListPage> {
    // The list code skips a rolled-up prefix by listing after prefix+"\xff"; the native
    // listing travels as JSON, which needs UTF-8: U+10FFFF sorts after every valid name too.
    std::string after;
    for (char ch : lo.start_after) {
      if (ch == '\xff')
        after += "\xf4\x8f\xbf\xbf";
      else
        after += ch;
    }
    Result<cluster::MergedPage> merged = Status::InvalidArgument("list");
    try {
      json lso = {{"prefix", lo.prefix}, {"props", "name,size,checksum,atime,version,etag,mtime"}};
      merged = cluster_->ListObjects(bucket, lso.dump(), lo.page_size, after);
    } catch (const json::exception&) {  // JSON refuses names that are not UTF-8
      return Status::InvalidArgument("prefix and markers must be valid UTF-8");
    }
    if (!merged.ok()) return merged.status();
    storage::ListPage page;
    page.next_token = merged->next_token;
    for (const auto& e : merged->entries) page.entries.push_back(EntryFromJson(e));
    return page;
  };
  s3::ListObjects(c, req, resp);
  if (resp.status == 503) resp.headers.Set("Retry-After", "1");
}

void S3ProxyApi::ListBuckets(Request& req, Response& resp) {
  XmlWriter w;
  w.Open("ListAllMyBucketsResult", kS3Xmlns);
  w.Open("Owner").Leaf("ID", "aisle").Leaf("DisplayName", "aisle").Close("Owner");
  w.Open("Buckets");
  for (const auto& [name, p] : cluster_->bmd()->buckets) {
    w.Open("Bucket").Leaf("Name", name).Leaf("CreationDate", Iso8601Ms(p.created_ns));
    w.Close("Bucket");
  }
  w.Close("Buckets").Close("ListAllMyBucketsResult");
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = req.method == "HEAD" ? "" : w.Take();
}

void S3ProxyApi::CreateBucket(S3Ctx& c, Request& req, Response& resp) {
  ServeCreateBucket(c, req, resp, kMaxSmallBody,
                    [&] { return cluster_->CreateBucket(c.bucket, 1); });
}

void S3ProxyApi::DeleteBucket(S3Ctx& c, Request& req, Response& resp) {
  if (!cluster_->bmd()->buckets.count(c.bucket))
    return WriteS3Error(req, resp, 404, "NoSuchBucket", "The specified bucket does not exist");
  auto page = cluster_->ListObjects(c.bucket, "{}", 1, "");
  if (!page.ok()) return WriteS3Status(req, resp, page.status(), "NoSuchBucket");
  if (!page->entries.empty())
    return WriteS3Error(req, resp, 409, "BucketNotEmpty",
                        "The bucket you tried to delete is not empty.");
  Status st = cluster_->DestroyBucket(c.bucket);
  if (!st.ok()) return WriteS3Status(req, resp, st, "NoSuchBucket");
  resp.status = 204;
}

void S3ProxyApi::DeleteObjects(S3Ctx& c, Request& req, Response& resp) {
  auto smap = cluster_->smap();
  // Each key is deleted natively at its owner (node-to-node: no redirect, no signature).
  auto delete_at_owner = [&](const std::string& key) -> std::string {
    const cluster::Node* owner = smap->Owner(c.bucket, key);
    if (!owner) return "no target is online";
    HttpRequest d;
    d.method = "DELETE";
    d.url = owner->Url() + "/v1/objects/" + EscapeComponent(c.bucket) + "/" + EscapePath(key) +
            "?provider=ais";
    d.headers = {{cluster::kIntraHeader, node_.id}};
    d.follow_redirects = false;
    auto r = cluster_->peers().Do(d);
    if (!r.ok()) return r.status().message();
    if (r->status != 200 && r->status != 204 && r->status != 404)
      return "HTTP " + std::to_string(r->status) + ": " + r->body;
    return "";
  };
  ServeDeleteObjects(c, req, resp, kMaxSmallBody, cluster_->bmd()->buckets.count(c.bucket) > 0,
                     "ServiceUnavailable", delete_at_owner);
}

}  // namespace aisle::api::s3
