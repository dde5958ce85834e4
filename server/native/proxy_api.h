// ProxyApi: the native API of a proxy (gateway). Object requests are redirected to the owning
// target (301 for GET, 307 otherwise, `pid` and `utm` added) without reading the body, so no
// object byte passes through a proxy; bucket requests go to the primary's control plane;
// listings fan out to the targets and merge.
#pragma once

#include <functional>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/api/peer_auth.h"
#include "server/cluster/proxy_cluster.h"
#include "server/etl/proxy_etl.h"
#include "server/metrics/node_metrics.h"
#include "server/native/user_service.h"

namespace aisle::api {

class ProxyApi : public Handler {
 public:
  ProxyApi(NodeContext node, cluster::ProxyCluster* cluster)
      : node_(std::move(node)), cluster_(cluster), etl_(node_, cluster) {}
  void Handle(Request& req, Response& resp) override;
  // Non-/v1 requests that `matches` accepts go to `s3` (S3 through the proxy). A callback,
  // not the S3 type: aisle_s3 sits above aisle_api.
  // Verifies node-to-node requests (null: unauthenticated mode). Set before serving.
  void SetPeerAuth(const PeerAuth* auth) { peer_auth_ = auth; }
  // User authentication (--auth): tokens checked on every route, users and logins under
  // /v1/users. Both null: auth is off. Set before serving.
  void SetUserAuth(const UserAuth* auth, UserService* users) {
    user_auth_ = auth;
    users_ = users;
  }
  void SetS3(Handler* s3, std::function<bool(const Request&)> matches) {
    s3_ = s3;
    s3_matches_ = std::move(matches);
  }
  // Where object requests are counted (the node's); null: nowhere.
  void SetMetrics(metrics::ProxyMetrics* m) { metrics_ = m; }

 private:
  void Buckets(Request& req, Response& resp, std::string_view bucket);
  void Objects(Request& req, Response& resp, std::string_view bucket, std::string_view object);
  void Cluster(Request& req, Response& resp, std::string_view tail);
  void Daemon(Request& req, Response& resp);
  // GET /v1/reverse/daemon with Ais-Node-Id: that node's daemon API, relayed.
  void Reverse(Request& req, Response& resp, std::string_view tail);
  void ListObjects(Request& req, Response& resp, std::string_view bucket, const std::string& lso);
  // Job queries and stop requests go to every target; the answers are merged.
  void FanOutJobs(Request& req, Response& resp, const std::string& body);
  // PUT /v1/cluster {"action":"start"}: a scrub on every target under one id.
  void StartJobs(Request& req, Response& resp, const std::string& body);
  // Drains a target through rebalance, removes it from the map and asks it to stop.
  Status Decommission(const std::string& node_id);

  NodeContext node_;
  cluster::ProxyCluster* cluster_;
  ProxyEtl etl_;  // /v1/etl and the offline bucket jobs (server/etl)
  Handler* s3_ = nullptr;
  const PeerAuth* peer_auth_ = nullptr;
  const UserAuth* user_auth_ = nullptr;
  UserService* users_ = nullptr;
  std::function<bool(const Request&)> s3_matches_;
  metrics::ProxyMetrics* metrics_ = nullptr;
};

}  // namespace aisle::api
