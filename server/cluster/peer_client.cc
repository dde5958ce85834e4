#include "server/cluster/peer_client.h"

#include "common/logging.h"
#include "common/net/http_errors.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/store.h"

namespace aisle::cluster {

std::string ObjectUrl(const std::string& base, std::string_view bucket, std::string_view object) {
  return base + "/v1/objects/" + EscapeComponent(bucket) + "/" + EscapePath(object);
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

Status PeerClient::PutAtOwner(TargetCluster* cluster, const std::string& bucket,
                              const std::string& name, const HttpBody& body,
                              const std::function<Status()>& put_local,
                              std::chrono::milliseconds total_timeout) {
  const Node* owner = nullptr;
  std::shared_ptr<const Smap> holder;
  if (cluster) {
    owner = cluster->OwnerOf(holder, bucket, name);
    if (!owner) return Status::Unavailable("no active target to own " + bucket + "/" + name);
  }
  if (!owner || owner->id == self_id_) {
    AISLE_RETURN_IF_ERROR(put_local());
    return cluster ? cluster->Replicate(bucket, name) : Status::OK();
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = ObjectUrl(owner->Url(), bucket, name);
  put.headers = {{kIntraHeader, self_id_}, {"Content-Type", "application/octet-stream"}};
  put.body = body;
  put.max_retries = 2;
  put.total_timeout = total_timeout;
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, http_.Do(put));
  if (r.status != 200)
    return StatusFromRemote(r, "put " + storage::ObjectCname(bucket, name) + " at " + owner->id);
  return Status::OK();
}

void PeerClient::DeleteCopies(const Smap& smap, std::string_view bucket, std::string_view object) {
  // Every other copy: the next HRW targets (and any previous holder found by rebalance).
  for (const Node* n : smap.RankTargets(bucket, object, smap.targets.size())) {
    if (n->id == self_id_) continue;
    HttpRequest del;
    del.method = "DELETE";
    del.url = ObjectUrl(n->Url(), bucket, object) + "?local=true";
    del.headers = {{kIntraHeader, self_id_}};
    del.max_retries = 1;
    del.total_timeout = std::chrono::milliseconds(10000);
    auto r = http_.Do(del);
    if (!r.ok()) spdlog::warn("delete copy on {}: {}", n->Url(), r.status().ToString());
  }
}

}  // namespace aisle::cluster
