// CopyObject through a proxy when source and destination have different owners: the source is
// read from its owner (native API, node-to-node) and streamed into a PUT at the destination's
// owner, which writes it (and its copies) durably; the proxy holds only a buffer.
#include <strings.h>

#include <chrono>

#include "common/clock.h"
#include "common/net/http_client.h"
#include "server/cluster/target_cluster.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_ops.h"
#include "server/s3/s3_proxy.h"
#include "server/s3/s3_relay.h"
#include "server/s3/s3_xml.h"

namespace aisle::api::s3 {
namespace {

std::string HeaderOf(const RelayedResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  return "";
}

}  // namespace

void S3ProxyApi::CopyAcrossTargets(Request& req, Response& resp, const S3Target& t) {
  auto verified = VerifyRequest(req, opts_, NowNs() / 1000000000);
  if (auto* e = std::get_if<AuthError>(&verified)) {
    WriteS3Error(req, resp, e->http, e->code, e->message);
    resp.close = req.has_body;
    return;
  }
  std::string sb, sk;
  if (!ParseCopySourceHeader(req.headers.Get("x-amz-copy-source"), &sb, &sk))
    return WriteS3Error(
        req, resp, 400, "InvalidArgument",
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  auto smap = cluster_->smap();
  const cluster::Node* from = smap->Owner(sb, sk);
  const cluster::Node* to = smap->Owner(t.bucket, t.key);
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  if (!from || !to || !SplitUrl(from->Url(), &host, &port, &tls))
    return WriteS3Error(req, resp, 503, "ServiceUnavailable", "no target is online");

  // 1. The source, as bytes plus metadata, from its owner.
  Request get;
  get.method = "GET";
  get.target = "/v1/objects/" + EscapeComponent(sb) + "/" + EscapePath(sk);
  get.path = "/v1/objects/" + sb + "/" + sk;
  get.headers.Add("Host", host + ":" + std::to_string(port));
  StringBodyReader no_body("");
  get.body = &no_body;
  RelayOptions ro;
  if (tls) ro.tls = cluster_->peers().http().tls();
  ro.extra_headers = cluster_->peers().IntraHeaders("GET", get.target, Sha256Hex(""));
  auto src = Relay(host, port, get, ro);
  if (!src.ok()) return WriteS3Error(req, resp, 503, "ServiceUnavailable", src.status().message());
  if (src->status == 404)
    return WriteS3Error(req, resp, 404, "NoSuchKey", "The specified key does not exist.");
  if (src->status != 200 || !src->body)
    return WriteS3Error(req, resp, 503, "ServiceUnavailable",
                        "reading the copy source: status " + std::to_string(src->status));
  std::vector<std::pair<std::string, std::string>> custom;
  std::string etag = HeaderOf(*src, "Ais-Checksum-Value");
  for (const auto& [k, v] : src->headers) {
    if (strcasecmp(k.c_str(), "Ais-Custom-Md") != 0) continue;
    size_t eq = v.find('=');
    if (eq == std::string::npos) continue;
    if (v.substr(0, eq) == kMdEtag)
      etag = v.substr(eq + 1);
    else
      custom.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  std::string cim = req.headers.Get("x-amz-copy-source-if-match");
  std::string cinm = req.headers.Get("x-amz-copy-source-if-none-match");
  if ((!cim.empty() && !EtagMatchesHeader(cim, etag)) ||
      (!cinm.empty() && EtagMatchesHeader(cinm, etag)))
    return WriteS3Error(req, resp, 412, "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold");
  if (strcasecmp(req.headers.Get("x-amz-metadata-directive").c_str(), "REPLACE") == 0)
    custom = MetaFromHeaders(req);
  custom.emplace_back(kMdEtag, etag);  // same bytes, same ETag

  // 2. Streamed into the destination's owner, which also writes the bucket's extra copies.
  HttpRequest put;
  put.method = "PUT";
  put.url = to->Url() + "/v1/objects/" + EscapeComponent(t.bucket) + "/" + EscapePath(t.key);
  put.headers = {{cluster::kIntraHeader, node_.id},
                 {"Ais-Checksum-Type", "xxhash"},
                 {"Ais-Checksum-Value", HeaderOf(*src, "Ais-Checksum-Value")}};
  for (const auto& [k, v] : custom) put.headers.emplace_back("Ais-Custom-Md", k + "=" + v);
  put.body = src->body.get();
  put.follow_redirects = false;
  put.max_retries = 0;
  auto r = cluster_->peers().Do(put);
  if (!r.ok()) return WriteS3Error(req, resp, 503, "ServiceUnavailable", r.status().message());
  if (r->status != 200)
    return WriteS3Error(req, resp, r->status == 404 ? 404 : 503,
                        r->status == 404 ? "NoSuchBucket" : "ServiceUnavailable",
                        "writing the copy: status " + std::to_string(r->status));
  XmlWriter w;
  w.Open("CopyObjectResult", kS3Xmlns).Leaf("LastModified", Iso8601Ms(NowNs()));
  w.Leaf("ETag", "\"" + etag + "\"").Close("CopyObjectResult");
  resp.headers.Set("Content-Type", "application/xml");
  resp.body = w.Take();
}

}  // namespace aisle::api::s3
