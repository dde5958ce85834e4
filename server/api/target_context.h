// What a target's handlers are handed: the node's identity and the services the node owns
// (server/node.cc builds them). Pointers only, never owned here; null where a service is off.
// Copied into jobs that outlive a request; the node outlives them all.
#pragma once

#include <functional>

#include "server/api/node_context.h"

namespace aisle::storage {
class Store;
}
namespace aisle::cluster {
class TargetCluster;
class PeerClient;
}  // namespace aisle::cluster
namespace aisle::etl {
class EtlManager;
}
namespace aisle::jobs {
class Registry;
}
namespace aisle::metrics {
struct TargetMetrics;
}

namespace aisle::api {

class Handler;
class PeerAuth;
class UserAuth;
class ShardCache;
struct LocalReadCounters;

struct ApiContext {
  storage::Store* store = nullptr;
  NodeContext node;
  cluster::TargetCluster* cluster = nullptr;  // null: a standalone node
  cluster::PeerClient* peers = nullptr;       // node-to-node calls; set whenever cluster is
  std::function<void()> request_shutdown;     // PUT /v1/daemon {"action":"shutdown"}
  Handler* s3 = nullptr;                     // S3 API (server/s3): every path outside /v1/ when set
  etl::EtlManager* etl = nullptr;            // null: this node runs no transforms
  LocalReadCounters* local_reads = nullptr;  // null: local reads are off
  jobs::Registry* jobs = nullptr;            // the node's long operations (xactions)
  ShardCache* shards = nullptr;              // shard member indexes of `store`
  metrics::TargetMetrics* metrics = nullptr;  // null: nothing is recorded (handler tests)
  const PeerAuth* peer_auth = nullptr;        // null: node-to-node requests are not verified
  // --validate-get: every bucket's whole-object GETs verify checksums (object_integrity.h),
  // whatever its checksum.validate_*_get properties say.
  bool validate_get = false;
  const UserAuth* user_auth = nullptr;  // null: user authentication is off
};

}  // namespace aisle::api
