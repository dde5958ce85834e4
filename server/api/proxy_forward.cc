#include "server/api/proxy_forward.h"

#include <strings.h>

#include "server/api/errors.h"

namespace aisle::api {

void ForwardToPrimary(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                      Response& resp, const std::string& body) {
  HttpRequest fwd;
  fwd.method = req.method;
  fwd.url = cluster.primary_url() + req.target;
  fwd.headers = {{"Content-Type", "application/json"}};
  fwd.body = body;
  fwd.follow_redirects = false;
  auto r = cluster.peers().Do(fwd);
  if (!r.ok()) return WriteError(req, resp, r.status(), node);
  resp.status = r->status;
  for (const auto& [k, v] : r->headers) {
    if (strcasecmp(k.c_str(), "Content-Length") && strcasecmp(k.c_str(), "Connection") &&
        strcasecmp(k.c_str(), "Transfer-Encoding"))
      resp.headers.Add(k, v);
  }
  resp.body = r->body;
}

}  // namespace aisle::api
