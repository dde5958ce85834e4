// ProxyEtl: the proxy side of ETL. The registry (init/start/stop/delete change the cluster's
// ETL metadata at the primary, which pushes it to every target; init and start then wait
// until each target reports the ETL running, or fail with the target's reason), listings and
// logs gathered from the targets, and the offline bucket job started on every target.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/proxy_cluster.h"

namespace aisle::api {

class ProxyEtl {
 public:
  // `cluster` outlives this.
  ProxyEtl(NodeContext node, cluster::ProxyCluster* cluster)
      : node_(std::move(node)), cluster_(cluster) {}

  // /v1/etl[/NAME[/logs[/TARGET]|health|metrics|stop|start]]: registry changes go to the
  // primary; reads merge the targets' answers.
  void Handle(Request& req, Response& resp, std::string_view tail);
  // Offline etl-bck / copy-bck at the primary: every target transforms its own objects under
  // one job id (the body of `resp`); a target refusing stops the others.
  void StartBucketJob(Request& req, Response& resp, std::string_view bucket,
                      const std::string& body);

 private:
  void Init(Request& req, Response& resp, const std::string& body);
  void List(Response& resp, const cluster::EtlMd& etlmd);
  void Delete(Request& req, Response& resp, const std::string& name);
  void StopOrStart(Request& req, Response& resp, const std::string& name, bool run,
                   const cluster::EtlMdEntry& entry);
  void Details(Response& resp, const std::string& name, const cluster::EtlMdEntry& entry);
  void Logs(Request& req, Response& resp, const std::string& name, const std::string& sub);
  // Waits until every active target runs ETL `name` (or one failed / the time is up).
  Status WaitRunning(const std::string& name, int64_t timeout_ms);

  NodeContext node_;
  cluster::ProxyCluster* cluster_;
};

}  // namespace aisle::api
