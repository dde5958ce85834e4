// ProxyCluster: a proxy's control plane. The primary owns the cluster map and bucket
// metadata: it admits joining nodes, tracks keepalives (a silent node is marked down, a
// returning one online again), persists both maps in its data directory and pushes every new
// version to all nodes. Other proxies join the primary like targets and forward bucket
// changes to it. Listing is a fan-out to the targets with a k-way merge.
//
// Threads: the primary runs a monitor thread; all public methods are thread-safe.
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

#include "server/cluster/cluster_map.h"
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
  };
  // `peers` carries every node-to-node call; it outlives this.
  ProxyCluster(Options opts, PeerClient* peers);
  ~ProxyCluster();

  Status Start(std::chrono::milliseconds wait);
  void Stop();

  bool is_primary() const { return opts_.primary_url.empty(); }
  // False until Start() has loaded (primary) or received (others) the cluster maps.
  bool ready() const { return ready_; }
  const Node& self() const { return opts_.self; }
  const std::string& primary_url() const { return opts_.primary_url; }
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
  std::map<std::string, std::chrono::steady_clock::time_point> last_seen_;  // guarded by mu_
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::thread monitor_thread_;
};

}  // namespace aisle::cluster
