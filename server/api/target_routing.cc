#include "server/api/target_routing.h"

#include <algorithm>

#include "common/clock.h"
#include "common/net/http_client.h"
#include "server/api/errors.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/store.h"

namespace aisle::api {

std::string RedirectUrl(const std::string& base, const std::string& target,
                        const std::string& pid) {
  char sep = target.find('?') == std::string::npos ? '?' : '&';
  return base + target + sep + "pid=" + pid + "&utm=" + std::to_string(NowNs());
}

Status PutAtOwner(const ApiContext& ctx, const std::string& bucket, const std::string& name,
                  const HttpBody& body, const std::function<Status()>& put_local,
                  std::chrono::milliseconds total_timeout) {
  if (!ctx.cluster) return put_local();
  return ctx.peers->PutAtOwner(ctx.cluster, bucket, name, body, put_local, total_timeout);
}

bool IsIntra(const Request& req) { return !req.intra_sender.empty(); }

bool RedirectToOwner(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object) {
  if (!ctx.cluster || IsIntra(req)) return false;
  // A read sent to a holder (RedirectToHolder) stays there; a client's write or delete with
  // ?local=true still goes to the owner.
  bool read = req.method == "GET" || req.method == "HEAD";
  if (read && req.Query("local").value_or("") == "true") return false;
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

std::string HolderDownMessage(std::string_view bucket, std::string_view object,
                              const std::string& node_id) {
  return "ais://" + std::string(bucket) + "/" + std::string(object) + ": target " + node_id +
         ", which holds it, is down (try again when it is back)";
}

Status MissingUnlessDown(const ApiContext& ctx, std::string_view bucket, std::string_view object,
                         Status missing) {
  if (!ctx.cluster || !missing.IsNotFound() || missing.subject() == Subject::kBucket)
    return missing;
  auto smap = ctx.cluster->smap();
  const cluster::Node* down =
      smap->DownHolder(bucket, object, static_cast<size_t>(ctx.cluster->CopiesOf(bucket)));
  if (!down) return missing;
  return Status::Unavailable(HolderDownMessage(bucket, object, down->id));
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
  // ?replica=true: this is a copy another target writes; a client cannot skip the copies.
  if (!ctx.cluster || (IsIntra(req) && req.Query("replica").value_or("") == "true"))
    return Status::OK();
  return ctx.cluster->Replicate(bucket, object);
}

void AfterLocalDelete(ApiContext& ctx, const Request& req, std::string_view bucket,
                      std::string_view object) {
  if (!ctx.cluster || IsIntra(req)) return;
  ctx.peers->DeleteCopies(*ctx.cluster->smap(), bucket, object);
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
