// The node's front handler: counts every request by method and answers GET /metrics (the
// Prometheus text format) on every node; anything else goes to the node's API handler.
#pragma once

#include <functional>

#include "server/api/http_types.h"
#include "server/api/node_context.h"

namespace aisle::metrics {
class Registry;
class RequestCounters;
}  // namespace aisle::metrics

namespace aisle::api {

class MetricsEndpoint : public Handler {
 public:
  // `claimed`: requests for /metrics that are the S3 API's (a virtual-host bucket's object
  // named "metrics"), passed to `inner`; may be empty. Pointers are the node's; not owned.
  MetricsEndpoint(Handler* inner, const metrics::Registry* registry,
                  metrics::RequestCounters* requests, NodeContext node,
                  std::function<bool(const Request&)> claimed)
      : inner_(inner),
        registry_(registry),
        requests_(requests),
        node_(std::move(node)),
        claimed_(std::move(claimed)) {}
  // GET/HEAD /metrics -> 200 text/plain; version=0.0.4; other methods -> 405 (AIS error).
  void Handle(Request& req, Response& resp) override;

 private:
  Handler* inner_;
  const metrics::Registry* registry_;
  metrics::RequestCounters* requests_;
  NodeContext node_;
  std::function<bool(const Request&)> claimed_;
};

}  // namespace aisle::api
