// ProxyCluster: a proxy's control plane. The primary owns the cluster map and bucket
// metadata: it admits joining nodes, tracks keepalives (a silent node is marked down, a
// returning one online again), persists both maps in its data directory and pushes every new
// version to all nodes. Other proxies join the primary like targets and forward bucket
// changes to it. Listing is a fan-out to the targets with a k-way merge.
//
// etcd mode (Options::etcd set; docs/INTERNALS.md "HA control plane"): the maps live in etcd
// (EtcdMeta), every proxy polls them, the primary is elected with a lease (EtcdElection) and
// commits every change to etcd (fenced by its lease) before installing and pushing it. A
// proxy that cannot confirm its lease steps down at once; metadata changes then answer 503.
//
// Threads: the primary runs a monitor thread; in etcd mode an election thread and a watch
// thread run on every proxy too. All public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/net/etcd_client.h"
#include "server/cluster/cluster_map.h"
#include "server/cluster/etcd_election.h"
#include "server/cluster/etcd_meta.h"
#include "server/cluster/list_merge.h"
#include "server/cluster/peer_client.h"

namespace aisle::cluster {

class ProxyCluster {
 public:
  struct Options {
    Node self;
    std::string data_dir;     // where the primary keeps smap.json and bmd.json
    std::string primary_url;  // empty: this proxy is the primary
    int keepalive_ms = 1000;
    int down_after_ms = 5000;  // no keepalive for this long: the node is down
    // etcd mode: member URLs (empty: embedded mode), the key prefix, the leader lease's TTL.
    std::vector<std::string> etcd;
    std::string etcd_prefix = "/aisle/default";
    int lease_ttl_s = 3;
  };
  // `peers` carries every node-to-node call; it outlives this.
  ProxyCluster(Options opts, PeerClient* peers);
  ~ProxyCluster();

  Status Start(std::chrono::milliseconds wait);
  void Stop();

  bool is_primary() const { return primary_; }
  bool etcd_mode() const { return !opts_.etcd.empty(); }
  // False until Start() has loaded (primary) or received (others) the cluster maps.
  bool ready() const { return ready_; }
  const Node& self() const { return opts_.self; }
  // The primary's URL as this proxy knows it; "" on the primary and while none is known.
  std::string primary_url() const;
  // Why this proxy cannot change metadata now: not the primary and none is known (etcd
  // down, an election in progress). kUnavailable, naming the cause.
  Status NoPrimary() const;
  std::shared_ptr<const Smap> smap() const { return state_.smap(); }
  std::shared_ptr<const Bmd> bmd() const { return state_.bmd(); }
  std::shared_ptr<const EtlMd> etlmd() const { return state_.etlmd(); }
  PeerClient& peers() { return *peers_; }

  // Primary only. Returns the metasync body {"smap":...,"bmd":...} for the new node.
  // `sender`: the verified node that signed the join ("" when nodes are not authenticated);
  // it must be the joining node, whose URL must answer as it (PeerClient::CheckIdentity).
  Result<std::string> Join(std::string_view body, std::string_view sender = {});
  // Primary only. Returns maps to send back when the node's versions are stale ("" if not).
  Result<std::string> Keepalive(std::string_view node_id, std::string_view body);
  // Non-primary proxies: a pushed {"smap","bmd"}.
  Status ApplyMetasync(std::string_view body);

  // Primary only: bucket metadata changes, applied on every target before returning.
  Status CreateBucket(std::string_view bucket, const BucketProps& props);
  Status CreateBucket(std::string_view bucket, int copies) {
    BucketProps p;
    p.copies = copies;
    return CreateBucket(bucket, p);
  }
  Status DestroyBucket(std::string_view bucket);
  // Sets copies and the checksum properties (created is kept).
  Status SetBucketProps(std::string_view bucket, const BucketProps& props);
  // Primary only: changes the ETL metadata with `mutate` (an error leaves it unchanged), then
  // persists it and pushes it to every node.
  Status UpdateEtlMd(const std::function<Status(EtlMd&)>& mutate);
  // Primary only: maintenance (drained by rebalance) and removal of a node.
  Status SetNodeState(std::string_view node_id, NodeState state);
  Status RemoveNode(std::string_view node_id);

  // Fan-out list of one page over all active targets, merged by name, duplicates dropped
  // (MergeListPages).
  Result<MergedPage> ListObjects(std::string_view bucket, const std::string& lso_json,
                                 size_t page_size, const std::string& token);

  std::string MetasyncBody() const;

  // Test seam: installs the maps as if loaded (primary) or received (others) and marks this
  // proxy ready, without Start(): no threads, no files, no peers.
  void InstallMapsForTest(Smap smap, Bmd bmd);

 private:
  Status LoadPersisted();
  Status Persist(const Smap& smap, const Bmd& bmd);
  // Refuses a change on a proxy that is not (or no longer) the primary.
  Status CheckPrimary() const;
  // etcd mode: commits the given maps (null: unchanged) fenced by our lease; a refused or
  // failed commit makes this proxy step down. REQUIRES: mu_ held.
  Status CommitEtcd(const Smap* smap, const Bmd* bmd, const EtlMd* etlmd);
  // etcd mode: loads the maps from etcd, names this proxy primary in a new cluster-map
  // version, commits and pushes it.
  Status BecomePrimary(int64_t lease);
  void StepDown(const std::string& why);
  void ElectionLoop();
  void WatchLoop();
  // Installs what etcd holds (non-primary proxies) and learns the leader.
  void ApplySnapshot(const EtcdSnapshot& snap);
  // Installs new maps (version+1), persists, pushes to all nodes. REQUIRES: mu_ held.
  Status Publish(Smap smap, Bmd bmd);
  void PushAll(const std::string& body, const Smap& smap);
  void MonitorLoop();
  Status JoinPrimary();
  // A join that would take a live node's ID (or the primary's). REQUIRES: mu_ held.
  Status CheckJoinConflict(const Smap& smap, const Node& node);
  void KeepaliveLoop();

  Options opts_;
  ClusterState state_;
  PeerClient* peers_;
  std::mutex mu_;  // serialises map changes on the primary
  // Keepalives only touch last_seen_ (under seen_mu_), so they never wait for a push that
  // holds mu_ (a proxy forwarding keepalives to us may be the node a push waits for).
  // Lock order: mu_, then seen_mu_.
  std::mutex seen_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_seen_;  // guarded by seen_mu_
  std::atomic<bool> push_pending_{false};  // a new primary's first push, sent by the monitor
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> primary_{false};
  std::atomic<bool> joined_{false};  // a non-primary proxy is in the primary's map
  std::atomic<int64_t> lease_{0};    // etcd mode: the lease we lead with (0: not leading)
  mutable std::mutex leader_mu_;
  std::string leader_url_;  // guarded by leader_mu_: the primary's URL ("" unknown / us)
  std::string no_primary_;  // guarded by leader_mu_: why no primary is known
  std::unique_ptr<etcd::EtcdClient> etcd_;
  std::unique_ptr<EtcdMeta> meta_;
  std::unique_ptr<EtcdElection> election_;
  std::thread monitor_thread_;
  std::vector<std::thread> etcd_threads_;
};

}  // namespace aisle::cluster
