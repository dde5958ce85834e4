// The node queries of AIStore's daemon API that its SDK and CLI send to any node (directly, or
// through a proxy's /v1/reverse/daemon with Ais-Node-Id): GET /v1/daemon?what=node_status|
// sysinfo|config|cluster_config|disk|log. Shapes follow AIStore's (the SDK's NodeStats,
// NodeCapacity, DiskInfo pydantic models), filled with what this node knows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/api/http_types.h"
#include "server/api/node_context.h"

namespace aisle::metrics {
struct TargetMetrics;
struct ProxyMetrics;
}  // namespace aisle::metrics

namespace aisle::api {

struct NodeFacts {
  const NodeContext* node = nullptr;
  std::string snode_json;  // this node as a cluster-map entry (cluster::NodeToJson)
  int64_t smap_version = 0;
  std::vector<std::string> mountpaths;  // empty on a proxy
  const metrics::TargetMetrics* target_metrics = nullptr;
  const metrics::ProxyMetrics* proxy_metrics = nullptr;
};

bool IsNodeQuery(const std::string& what);
// Answers one of the queries above (200 with JSON, or text for what=log).
void AnswerNodeQuery(const std::string& what, const NodeFacts& facts, const Request& req,
                     Response& resp);

}  // namespace aisle::api
