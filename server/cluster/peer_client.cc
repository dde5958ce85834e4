#include "server/cluster/peer_client.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
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

namespace {

bool HasHeader(const HttpRequest& req, const char* name) {
  for (const auto& [k, v] : req.headers)
    if (strcasecmp(k.c_str(), name) == 0) return true;
  return false;
}

// In-memory bodies are signed by digest; streamed ones (object data) are not (SECURITY.md).
std::string BodyDigest(const HttpBody& body) {
  if (const auto* s = std::get_if<std::string>(&body)) return Sha256Hex(*s);
  if (std::holds_alternative<std::monostate>(body)) return Sha256Hex("");
  return std::string(kUnsignedPayload);
}

}  // namespace

Result<HttpResponse> PeerClient::Send(const HttpRequest& req) {
  if (!HasHeader(req, kIntraHeader)) return http_.Do(req);
  HttpRequest signed_req = req;
  auto extra = IntraHeaders(req.method, UrlTarget(req.url), BodyDigest(req.body));
  StripIntraHeaders(&signed_req.headers);
  for (auto& kv : extra) signed_req.headers.push_back(std::move(kv));
  return http_.Do(signed_req);
}

std::vector<std::pair<std::string, std::string>> PeerClient::IntraHeaders(
    std::string_view method, std::string_view target, std::string_view body_digest) const {
  std::vector<std::pair<std::string, std::string>> h;
  if (!secret_) {
    h.emplace_back(kIntraHeader, self_id_);
    return h;
  }
  SignIntra(*secret_, method, target, self_id_, body_digest, NowNs() / 1000000000, &h);
  return h;
}

Status PeerClient::CheckIdentity(const std::string& url, const std::string& node_id) {
  HttpRequest req;
  req.url = url + "/v1/daemon?what=snode";
  req.headers = IntraHeaders("GET", UrlTarget(req.url), Sha256Hex(""));
  req.follow_redirects = false;
  req.max_retries = 1;
  req.connect_timeout = std::chrono::milliseconds(3000);
  req.total_timeout = std::chrono::milliseconds(5000);
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, http_.Do(req));
  std::string who;
  if (r.status == 200) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("daemon_id") && j["daemon_id"].is_string())
      who = j["daemon_id"].get<std::string>();
  }
  if (who != node_id)
    return Status::InvalidArgument(url + " does not answer as node \"" + node_id + "\" (status " +
                                   std::to_string(r.status) + ")");
  if (secret_) {
    std::string sig;
    for (const auto& [k, v] : req.headers)
      if (k == kIntraSigHeader) sig = v;
    if (!secret_->VerifyProof(sig, node_id, r.Header(kIntraProofHeader).value_or("")))
      return Status::InvalidArgument(url + " does not prove it holds the cluster secret");
  }
  return Status::OK();
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
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, Send(put));
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
    auto r = Send(del);
    if (!r.ok()) spdlog::warn("delete copy on {}: {}", n->Url(), r.status().ToString());
  }
}

}  // namespace aisle::cluster
