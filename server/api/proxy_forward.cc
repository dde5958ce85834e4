#include "server/api/proxy_forward.h"

#include <strings.h>

#include "common/net/intra_auth.h"
#include "server/api/errors.h"
#include "server/api/request_log.h"

namespace aisle::api {

void ForwardToPrimary(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                      Response& resp, const std::string& body) {
  // No primary known (etcd mode: election in progress, etcd down), or a request another proxy
  // forwarded already (two proxies that each think the other leads must not loop): 503.
  std::string primary = cluster.primary_url();
  if (primary.empty()) return WriteError(req, resp, cluster.NoPrimary(), node);
  if (!req.headers.Get(kForwardedHeader).empty())
    return WriteError(req, resp,
                      Status::Unavailable("a forwarded control request reached a proxy that is "
                                          "not the primary (an election is in progress)"),
                      node);
  HttpRequest fwd;
  fwd.method = req.method;
  fwd.url = primary + req.target;
  fwd.headers = {{"Content-Type", "application/json"}, {kForwardedHeader, node.id}};
  if (!req.request_id.empty()) fwd.headers.emplace_back(kRequestIdHeader, req.request_id);
  fwd.body = body;
  fwd.follow_redirects = false;
  // A node's signed request keeps its own signature (same method, target and body): the
  // primary checks the node that sent it, not this proxy.
  bool relay_signature = req.peer_auth && !req.intra_sender.empty();
  if (relay_signature) {
    for (const auto& [k, v] : req.headers.items())
      if (IsIntraHeaderName(k)) fwd.headers.emplace_back(k, v);
  }
  auto r = relay_signature ? cluster.peers().http().Do(fwd) : cluster.peers().Do(fwd);
  if (!r.ok()) return WriteError(req, resp, r.status(), node);
  resp.status = r->status;
  for (const auto& [k, v] : r->headers) {
    if (strcasecmp(k.c_str(), "Content-Length") != 0 && strcasecmp(k.c_str(), "Connection") != 0 &&
        strcasecmp(k.c_str(), "Transfer-Encoding") != 0)
      resp.headers.Add(k, v);
  }
  resp.body = r->body;
}

}  // namespace aisle::api
