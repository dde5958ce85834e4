// How a target behaves inside a cluster: redirects to owners and holders, copies, deletes.
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/net/http_client.h"
#include "common/net/http_errors.h"
#include "server/api/errors.h"
#include "server/api/proxy_api.h"
#include "server/api/target_api.h"

namespace aisle::api {

std::string ObjectUrl(const std::string& base, std::string_view bucket, std::string_view object) {
  return base + "/v1/objects/" + EscapeComponent(bucket) + "/" + EscapePath(object);
}

HttpClient& Client() {
  static HttpClient client;
  return client;
}

std::string RemoteErrorMessage(const HttpResponse& r) {
  std::string m = AisErrorMessage(r.body);
  return m.empty() ? r.body : m;
}

Status StatusFromRemote(const HttpResponse& r, const std::string& what) {
  std::string m = what + ": " + RemoteErrorMessage(r);
  StatusCode code = StatusCodeForHttp(r.status);
  if (code == StatusCode::kIOError) m += " (status " + std::to_string(r.status) + ")";
  return Status(code, std::move(m));
}

Status PutAtOwner(const ApiContext& ctx, const std::string& bucket, const std::string& name,
                  const HttpBody& body, const std::function<Status()>& put_local,
                  std::chrono::milliseconds total_timeout) {
  const cluster::Node* owner = nullptr;
  std::shared_ptr<const cluster::Smap> holder;
  if (ctx.cluster) {
    owner = ctx.cluster->OwnerOf(holder, bucket, name);
    if (!owner) return Status::Unavailable("no active target to own " + bucket + "/" + name);
  }
  if (!owner || owner->id == ctx.node.id) {
    AISLE_RETURN_IF_ERROR(put_local());
    return ctx.cluster ? ctx.cluster->Replicate(bucket, name) : Status::OK();
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = ObjectUrl(owner->Url(), bucket, name);
  put.headers = {{cluster::kIntraHeader, ctx.node.id},
                 {"Content-Type", "application/octet-stream"}};
  put.body = body;
  put.max_retries = 2;
  put.total_timeout = total_timeout;
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, Client().Do(put));
  if (r.status != 200)
    return StatusFromRemote(r, "put " + storage::ObjectCname(bucket, name) + " at " + owner->id);
  return Status::OK();
}

bool IsIntra(const Request& req) { return req.headers.Find(cluster::kIntraHeader) != nullptr; }

bool RedirectToOwner(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object) {
  if (!ctx.cluster || IsIntra(req) || req.Query("local").value_or("") == "true") return false;
  std::shared_ptr<const cluster::Smap> smap;
  const cluster::Node* owner = ctx.cluster->OwnerOf(smap, bucket, object);
  if (!owner) {
    WriteError(req, resp, 503, "no target is online", ctx.node);
    return true;
  }
  if (owner->id == ctx.node.id) return false;
  resp.status = req.method == "GET" ? 301 : 307;
  resp.headers.Set("Location", RedirectUrl(owner->Url(), req.target, ctx.node.id));
  return true;
}

bool RedirectToHolder(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                      std::string_view object) {
  if (!ctx.cluster || IsIntra(req) || req.Query("retry").value_or("") == "true") return false;
  if (req.Query("local").value_or("") == "true") {
    // Sent here as a holder, but the object has just moved on to its owner: back there, once.
    std::shared_ptr<const cluster::Smap> smap;
    const cluster::Node* owner = ctx.cluster->OwnerOf(smap, bucket, object);
    if (!owner || owner->id == ctx.node.id) return false;
    resp.status = req.method == "GET" ? 301 : 307;
    resp.headers.Set("Location", owner->Url() + "/v1/objects/" + EscapeComponent(bucket) + "/" +
                                     EscapePath(object) + "?retry=true");
    return true;
  }
  auto holder = ctx.cluster->FindElsewhere(bucket, object);
  if (!holder) return false;
  std::string target = req.target + (req.target.find('?') == std::string::npos ? "?" : "&");
  resp.status = req.method == "GET" ? 301 : 307;
  resp.headers.Set("Location", *holder + target + "local=true");
  return true;
}

bool RedirectBucketToPrimary(ApiContext& ctx, Request& req, Response& resp) {
  if (!ctx.cluster || IsIntra(req)) return false;
  auto smap = ctx.cluster->smap();
  const cluster::Node* p = smap->Primary();
  if (!p) {
    WriteError(req, resp, 503, "no primary proxy in the cluster map", ctx.node);
    return true;
  }
  resp.status = 307;
  resp.headers.Set("Location", p->Url() + req.target);
  return true;
}

Status AfterLocalPut(ApiContext& ctx, const Request& req, std::string_view bucket,
                     std::string_view object) {
  if (!ctx.cluster || req.Query("replica").value_or("") == "true") return Status::OK();
  return ctx.cluster->Replicate(bucket, object);
}

void AfterLocalDelete(ApiContext& ctx, const Request& req, std::string_view bucket,
                      std::string_view object) {
  if (!ctx.cluster || IsIntra(req)) return;
  auto smap = ctx.cluster->smap();
  // Every other copy: the next HRW targets (and any previous holder found by rebalance).
  for (const cluster::Node* n : smap->RankTargets(bucket, object, smap->targets.size())) {
    if (n->id == ctx.node.id) continue;
    HttpRequest del;
    del.method = "DELETE";
    del.url = ObjectUrl(n->Url(), bucket, object) + "?local=true";
    del.headers = {{cluster::kIntraHeader, ctx.node.id}};
    del.max_retries = 1;
    del.total_timeout = std::chrono::milliseconds(10000);
    auto r = Client().Do(del);
    if (!r.ok()) spdlog::warn("delete copy on {}: {}", n->Url(), r.status().ToString());
  }
}

Status ClusterRename(ApiContext& ctx, const Request& req, std::string_view bucket,
                     std::string_view from, std::string_view to) {
  AISLE_RETURN_IF_ERROR(ctx.store->Rename(bucket, from, to));
  if (!ctx.cluster) return Status::OK();
  AfterLocalDelete(ctx, req, bucket, from);
  std::shared_ptr<const cluster::Smap> smap;
  const cluster::Node* owner = ctx.cluster->OwnerOf(smap, bucket, to);
  if (owner && owner->id != ctx.node.id) {
    // The new name belongs elsewhere: the rebalance pass moves it; do it now instead.
    ctx.cluster->TriggerRebalance();
    return Status::OK();
  }
  return ctx.cluster->Replicate(bucket, to);
}

}  // namespace aisle::api
