// TargetCluster: a target's membership in a cluster. Joins the primary proxy, sends
// keepalives, applies pushed cluster maps and bucket metadata (reconciling its buckets),
// answers "who owns this object", writes extra copies, finds objects that are still at a
// previous owner, and runs the rebalance job after every cluster-map change.
//
// Threads: a keepalive thread and a rebalance thread; all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/cluster/cluster_map.h"
#include "server/cluster/peer_client.h"
#include "server/storage/store.h"

namespace aisle::jobs {
class Job;
class Registry;
}  // namespace aisle::jobs

namespace aisle::cluster {

struct RebalanceStats {
  std::string id;  // "reb-<smap version>"
  int64_t smap_version = 0;
  bool running = false;
  bool aborted = false;
  int64_t start_ns = 0, end_ns = 0;
  uint64_t objects_moved = 0, bytes_moved = 0;
  uint64_t objects_copied = 0, bytes_copied = 0;  // extra copies written to restore `copies`
  uint64_t objects_scanned = 0;
  uint64_t errors = 0;
  std::string last_error;
};

class TargetCluster {
 public:
  struct Options {
    Node self;
    std::string primary_url;
    int keepalive_ms = 1000;
  };
  // `peers` carries every node-to-node call; rebalance passes run as jobs in `jobs`. All three
  // outlive this.
  TargetCluster(Options opts, storage::Store* store, PeerClient* peers, jobs::Registry* jobs);
  ~TargetCluster();

  // Joins the primary (retrying for up to `wait`), then starts keepalives and rebalancing.
  Status Start(std::chrono::milliseconds wait);
  void Stop();

  const Node& self() const { return opts_.self; }
  std::shared_ptr<const Smap> smap() const { return state_.smap(); }
  // Applies a pushed {"smap": ..., "bmd": ..., "etlmd": ...} all or nothing: a map older than
  // ours refuses the whole message with kConflict (ClusterState::InstallNewer).
  Status ApplyMetasync(std::string_view body);

  int CopiesOf(std::string_view bucket) const;
  // The bucket's checksum.validate_warm_get/validate_cold_get (either one).
  bool ValidateGet(std::string_view bucket) const;
  // Integrity: stores a good copy of bucket/object fetched from another target that holds one
  // (a bucket with copies >= 2), after the local one was quarantined: streamed into a spool
  // file, then stored with the source's version, mtime, custom metadata and checksum
  // (verified, so a bad copy is refused too). kNotFound when no other target has a good copy.
  Status RepairFromCopy(std::string_view bucket, std::string_view object);
  // The owner of an object by the current map; nullptr if there is no active target.
  const Node* OwnerOf(std::shared_ptr<const Smap>& holder, std::string_view bucket,
                      std::string_view object) const;
  // Writes copies 2..N of a freshly written local object to the next HRW targets.
  Status Replicate(std::string_view bucket, std::string_view object);
  // A target (other than this one) that holds the object locally: its URL, or nullopt.
  std::optional<std::string> FindElsewhere(std::string_view bucket, std::string_view object);

  // Pulls the current maps from the primary (e.g. a bucket this target has not heard of yet).
  Status SyncMaps();
  // A request names a bucket this target's store lacks: pulls the maps, and creates the bucket
  // locally when the bucket metadata has it, so a push that is late, in flight on another
  // thread, or lost never reads as "bucket does not exist" (the BMD is the truth).
  void EnsureBucket(std::string_view bucket);

  std::shared_ptr<const EtlMd> etlmd() const { return state_.etlmd(); }
  // Called (on the applying thread) with every newer ETL metadata; set before Start().
  void SetEtlMdListener(std::function<void(std::shared_ptr<const EtlMd>)> fn) {
    etlmd_listener_ = std::move(fn);
  }

  RebalanceStats rebalance_stats() const;
  // Objects (and their bytes) this target moved to their new owners, over all rebalances.
  uint64_t objects_moved_total() const { return moved_objects_.load(std::memory_order_relaxed); }
  uint64_t bytes_moved_total() const { return moved_bytes_.load(std::memory_order_relaxed); }
  // Wakes the rebalance thread (used after a map change and by tests/ops).
  void TriggerRebalance();

 private:
  Status Join();
  // Where to send control requests, best first: the primary of our map, the other proxies in
  // it (any proxy forwards to the primary it knows), then the configured --primary URL.
  std::vector<std::string> ProxyCandidates() const;
  // POSTs `path` (a keepalive or join) to the candidates in turn until one answers below 500.
  Result<HttpResponse> PostToPrimary(const std::string& path, const std::string& body,
                                     std::chrono::milliseconds timeout);
  // After a newer bucket metadata: creates and destroys local buckets to match.
  void ReconcileBuckets(const Bmd& old, const Bmd& bmd);
  void KeepaliveLoop();
  void RebalanceLoop();
  void RunRebalance(int64_t generation, jobs::Job* job);
  // Sends the local object to `to` (a target URL); keeps version, checksum and custom md.
  // A local copy that fails its checksum is quarantined, repaired from another copy when one
  // exists and only then sent; it is never sent as it is.
  Status PushObject(const std::string& to, std::string_view bucket, std::string_view object,
                    bool replica_only);
  Status PushOnce(const std::string& to, std::string_view bucket, std::string_view object,
                  bool replica_only);
  // HEAD on `to` (local copy only): its checksum, or nullopt when it has none.
  Result<std::optional<std::string>> RemoteChecksum(const std::string& to, std::string_view bucket,
                                                    std::string_view object);

  Options opts_;
  storage::Store* store_;
  PeerClient* peers_;
  jobs::Registry* jobs_;
  ClusterState state_;

  std::atomic<bool> stop_{false};
  std::thread keepalive_thread_;
  std::thread rebalance_thread_;
  std::mutex reb_mu_;
  std::condition_variable reb_cv_;
  int64_t reb_wanted_ = 0;  // bumped by every map change/trigger; guarded by reb_mu_
  mutable std::mutex stats_mu_;
  RebalanceStats stats_;
  std::atomic<uint64_t> moved_objects_{0}, moved_bytes_{0};
  std::function<void(std::shared_ptr<const EtlMd>)> etlmd_listener_;
};

}  // namespace aisle::cluster
