// A proxy's forwarding of control requests (bucket, cluster and ETL registry changes) to the
// primary, which alone changes the cluster's metadata.
#pragma once

#include <string>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/proxy_cluster.h"

namespace aisle::api {

// Marks a request one proxy forwarded to another (the value: the sender's ID); such a request
// is never forwarded again.
inline constexpr char kForwardedHeader[] = "Aisle-Forwarded";

// Re-issues `req` (method and target, with `body` already read) at the primary and copies its
// answer back into `resp` (status, headers except the framing ones, body); when the primary
// cannot be reached, `resp` is that error.
void ForwardToPrimary(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                      Response& resp, const std::string& body);

}  // namespace aisle::api
