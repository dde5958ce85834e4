// The proxy side of the archive job: one target runs the whole job (reading sources from
// their owners, writing shards to theirs), so the proxy only validates and picks that target
// — the owner of the first shard, so at least that shard is written locally.
#pragma once

#include <string>
#include <string_view>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/proxy_cluster.h"

namespace aisle::api {

// PUT /v1/buckets/B {"action":"archive",...} at the primary proxy: checks the message and
// both buckets, then starts the job on its runner target under a job id chosen here; `resp`
// is the target's answer as is (the job id, or its error).
void ForwardArchiveJob(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                       Response& resp, std::string_view bucket, const std::string& body);

}  // namespace aisle::api
