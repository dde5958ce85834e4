// A node: owns every service it runs and hands them down as pointers (no process-wide
// services). BuildNode creates them in dependency order; Start serves and joins the cluster;
// Stop (or the destructor) ends background work before anything it uses is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/net/tls_options.h"
#include "common/result.h"
#include "server/api/node_context.h"
#include "server/metrics/node_metrics.h"
#include "server/native/local_read_handler.h"
#include "server/node_config.h"

namespace aisle::http {
class HttpServer;
}
namespace aisle::storage {
class Store;
}
namespace aisle::cluster {
class PeerClient;
class TargetCluster;
class ProxyCluster;
}  // namespace aisle::cluster
namespace aisle::jobs {
class Registry;
}
namespace aisle::etl {
class EtlManager;
}
namespace aisle::local {
class LocalReadServer;
}
namespace aisle {
class ClusterSecret;
}
namespace aisle::api {
class Handler;
class PeerAuth;
class UserAuth;
class UserService;
class ShardCache;
namespace s3 {
class S3Api;
class S3ProxyApi;
}  // namespace s3
}  // namespace aisle::api

namespace aisle {

// What the process gives the node beyond its configuration.
struct NodeHost {
  std::function<void()> request_shutdown;  // PUT /v1/daemon {"action":"shutdown"}
  uint64_t open_file_limit = 1024;         // the process's descriptor limit
};

class Node {
 public:
  ~Node();  // Stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Serves, joins the cluster (a target or non-primary proxy), writes the ready file and
  // logs the node's URL.
  Status Start();
  // Leaves the cluster, drains HTTP, aborts and waits for jobs, stops local reads and ETL
  // programs. Idempotent.
  void Stop();

  const std::string& url() const { return url_; }
  const std::string& id() const { return self_.id; }
  // SIGHUP: the TLS certificate and key files again, for new handshakes; on failure the old
  // ones stay (the error says why).
  Status ReloadTls();

 private:
  friend Result<std::unique_ptr<Node>> BuildNode(const NodeConfig& cfg, NodeHost host);
  Node(NodeConfig cfg, NodeHost host);
  Status Build();
  Status BuildTarget();
  Status BuildProxy();
  // The families every node exposes at /metrics, then the front handler serving them.
  void RegisterMetrics();
  // How this node verifies the others over https (and, with mutual TLS, its own certificate).
  TlsClientOptions PeerTls() const;

  NodeConfig cfg_;
  NodeHost host_;
  api::NodeContext self_;
  std::string url_;
  bool stopped_ = false;
  // Recorded by handlers and read at /metrics; they outlive every service that records.
  std::unique_ptr<metrics::Registry> metrics_;
  metrics::RequestCounters request_counts_;
  metrics::TargetMetrics target_metrics_;  // targets
  metrics::ProxyMetrics proxy_metrics_;    // proxies
  // Declared in build order; destroyed in reverse (Stop has ended their threads by then).
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<ClusterSecret> secret_;  // null: node-to-node requests are unauthenticated
  std::unique_ptr<storage::Store> store_;  // targets
  std::unique_ptr<cluster::PeerClient> peers_;
  std::unique_ptr<jobs::Registry> jobs_;
  std::unique_ptr<cluster::TargetCluster> target_cluster_;  // a target with --primary
  std::unique_ptr<cluster::ProxyCluster> proxy_cluster_;    // proxies
  std::unique_ptr<api::ShardCache> shards_;                 // targets
  std::unique_ptr<etl::EtlManager> etl_;                    // targets
  std::unique_ptr<api::s3::S3Api> s3_;                      // targets
  std::unique_ptr<api::s3::S3ProxyApi> s3_proxy_;           // proxies (relayed)
  api::LocalReadCounters local_read_counters_;
  std::unique_ptr<local::LocalReadServer> local_reads_;  // after store_: it holds files
  std::unique_ptr<api::PeerAuth> peer_auth_;             // verifies node-to-node requests
  std::unique_ptr<api::UserAuth> user_auth_;             // --auth: checks user tokens
  std::unique_ptr<api::UserService> users_;              // --auth on a proxy: /v1/users
  std::unique_ptr<api::Handler> api_;
  std::unique_ptr<api::Handler> front_;   // /metrics, then api_
  std::unique_ptr<api::Handler> logged_;  // request IDs and the access log, then front_
};

// Listens (the URL, with an ephemeral port, is part of the node's identity), opens the store,
// loads or creates the node ID and builds the services; nothing is served yet.
Result<std::unique_ptr<Node>> BuildNode(const NodeConfig& cfg, NodeHost host);

}  // namespace aisle
