// Fan-out: the same node-to-node request to every active target, in parallel (a proxy's job
// queries, ETL registry checks and bucket jobs).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/net/http_client.h"
#include "common/status.h"
#include "server/cluster/proxy_cluster.h"

namespace aisle::cluster {

struct TargetAnswer {
  std::string id;  // the target's daemon id
  Result<HttpResponse> resp;
};

// Sends `method target` (a path with query) with `body` to every active target of the
// cluster's current map, marked intra-cluster from node `from_id`, one retry each; waits for
// all. Answers come in the map's target order, one per target, failed calls included.
std::vector<TargetAnswer> AskTargets(
    ProxyCluster& cluster, const std::string& from_id, const std::string& method,
    const std::string& target, const std::string& body = "",
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

}  // namespace aisle::cluster
