#include "server/api/metrics_endpoint.h"

#include "server/api/errors.h"
#include "server/metrics/node_metrics.h"
#include "server/metrics/registry.h"

namespace aisle::api {

void MetricsEndpoint::Handle(Request& req, Response& resp) {
  requests_->Record(req.method);
  if (req.path != "/metrics" || (claimed_ && claimed_(req))) return inner_->Handle(req, resp);
  if (req.method != "GET" && req.method != "HEAD") {
    resp.headers.Set("Allow", "GET, HEAD");
    return WriteError(req, resp, 405, "method " + req.method + " not allowed on /metrics", node_);
  }
  resp.headers.Set("Content-Type", std::string(metrics::kTextContentType));
  resp.body = registry_->Render();
  if (req.method == "HEAD") {
    resp.head_length = resp.body.size();
    resp.body.clear();
  }
}

}  // namespace aisle::api
