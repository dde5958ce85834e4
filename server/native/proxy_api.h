// ProxyApi: the native API of a proxy (gateway). Object requests are redirected to the owning
// target (301 for GET, 307 otherwise, `pid` and `utm` added) without reading the body, so no
// object byte passes through a proxy; bucket requests go to the primary's control plane;
// listings fan out to the targets and merge.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/proxy_cluster.h"

namespace aisle::api {

class ProxyApi : public Handler {
 public:
  ProxyApi(NodeContext node, cluster::ProxyCluster* cluster)
      : node_(std::move(node)), cluster_(cluster) {}
  void Handle(Request& req, Response& resp) override;
  // Non-/v1 requests that `matches` accepts go to `s3` (S3 through the proxy). A callback,
  // not the S3 type: aisle_s3 sits above aisle_api.
  void SetS3(Handler* s3, std::function<bool(const Request&)> matches) {
    s3_ = s3;
    s3_matches_ = std::move(matches);
  }

 private:
  void Buckets(Request& req, Response& resp, std::string_view bucket);
  void Objects(Request& req, Response& resp, std::string_view bucket, std::string_view object);
  void Cluster(Request& req, Response& resp, std::string_view tail);
  void Daemon(Request& req, Response& resp);
  void ListObjects(Request& req, Response& resp, std::string_view bucket, const std::string& lso);
  // /v1/etl: the ETL registry (primary) and its fan-out to the targets (proxy_etl.cc).
  void Etl(Request& req, Response& resp, std::string_view tail);
  // Offline etl-bck / copy-bck: every target transforms its own objects (proxy_etl.cc).
  void EtlBucket(Request& req, Response& resp, std::string_view bucket, const std::string& body);
  // The archive job: forwarded to one target (the destination owner of the first shard),
  // which runs it over the whole cluster (proxy_archive.cc).
  void Archive(Request& req, Response& resp, std::string_view bucket, const std::string& body);
  // Waits until every active target runs ETL `name` (or one failed / the time is up).
  Status WaitEtlRunning(const std::string& name, int64_t timeout_ms);
  struct TargetAnswer {
    std::string id;
    Result<HttpResponse> resp;
  };
  // The same node-to-node request to every active target, in parallel.
  std::vector<TargetAnswer> AskTargets(
      const std::string& method, const std::string& target, const std::string& body = "",
      std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  // Job queries and stop requests go to every target; the answers are merged.
  void FanOutJobs(Request& req, Response& resp, const std::string& body);
  // Re-issues a control request at the primary and copies its answer back.
  void ForwardToPrimary(Request& req, Response& resp, const std::string& body);
  // Drains a target through rebalance, removes it from the map and asks it to stop.
  Status Decommission(const std::string& node_id);

  NodeContext node_;
  cluster::ProxyCluster* cluster_;
  Handler* s3_ = nullptr;
  std::function<bool(const Request&)> s3_matches_;
};

}  // namespace aisle::api
