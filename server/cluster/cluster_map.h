// Cluster metadata owned by the primary proxy and pushed to every node: the cluster map
// (Smap: nodes, roles, URLs, state) and the bucket metadata (BMD: buckets and properties).
// Both are versioned; nodes apply only newer versions. JSON in AIStore's shapes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::cluster {

enum class NodeState { kOnline, kDown, kMaintenance };
const char* NodeStateName(NodeState s);

struct Node {
  std::string id;
  std::string role;  // "proxy" | "target"
  std::string host;
  uint16_t port = 0;
  NodeState state = NodeState::kOnline;
  uint64_t id_digest = 0;  // HrwDigest(id)
  bool tls = false;        // serves https (the map's direct_url carries the scheme)
  std::string Url() const {
    return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
  }
};

struct Smap {
  int64_t version = 0;
  std::string uuid;
  std::string primary_id;
  int64_t created_ns = 0;
  std::map<std::string, Node> proxies;
  std::map<std::string, Node> targets;

  const Node* FindNode(std::string_view id) const;
  const Node* Primary() const;
  // Targets that may own objects (online), in id order.
  std::vector<const Node*> ActiveTargets() const;
  // The `n` highest-scoring active targets for bucket/object (AIStore HRW), best first.
  std::vector<const Node*> RankTargets(std::string_view bucket, std::string_view object,
                                       size_t n) const;
  const Node* Owner(std::string_view bucket, std::string_view object) const;
  // The `n` targets that hold bucket/object while nodes are down: HRW over online and down
  // targets (a target in maintenance has been drained and holds nothing), best first.
  std::vector<const Node*> RankHolders(std::string_view bucket, std::string_view object,
                                       size_t n) const;
  // The first of those `copies` holders that is down, or nullptr: an object missing from the
  // online targets may be on it, so its absence is not "does not exist" (issue #18).
  const Node* DownHolder(std::string_view bucket, std::string_view object, size_t copies) const;
  // The first holder when all `copies` holders are down (nobody can answer), else nullptr.
  const Node* AllHoldersDown(std::string_view bucket, std::string_view object, size_t copies) const;
  // A target marked down (the lowest id), or nullptr: a listing may miss its objects.
  const Node* FirstDownTarget() const;
};

struct BucketProps {
  int copies = 1;
  int64_t created_ns = 0;
  // AIStore's checksum.validate_warm_get / validate_cold_get: a whole-object GET re-hashes
  // the data before sending it (docs/INTERNALS.md "Integrity"). Aisle has no cold GETs (no
  // remote backends), so either one turns validation on.
  bool validate_warm_get = false;
  bool validate_cold_get = false;
  bool ValidateGet() const { return validate_warm_get || validate_cold_get; }
};

struct Bmd {
  int64_t version = 0;
  std::string uuid;
  std::map<std::string, BucketProps, std::less<>> buckets;

  const BucketProps* Find(std::string_view bucket) const {
    auto it = buckets.find(bucket);
    return it == buckets.end() ? nullptr : &it->second;
  }
  // How many targets hold each object of `bucket` (at least 1; 1 for an unknown bucket).
  size_t CopiesOf(std::string_view bucket) const {
    const BucketProps* p = Find(bucket);
    return p && p->copies > 1 ? static_cast<size_t>(p->copies) : 1;
  }
};

// ETL metadata: the registered transforms (init messages as sent) and whether each should run.
// Targets start and stop their ETL processes to match (etl/etl_manager.h).
struct EtlMdEntry {
  std::string msg;
  bool running = true;
};
struct EtlMd {
  int64_t version = 0;
  std::map<std::string, EtlMdEntry> etls;
};

// AIStore JSON (Smap: tmap/pmap/proxy_si/version-as-string; Snode with public_net etc.).
std::string SmapToJson(const Smap& smap);
Result<Smap> SmapFromJson(std::string_view json);
std::string NodeToJson(const Node& node);
Result<Node> NodeFromJson(std::string_view json);
std::string BmdToJson(const Bmd& bmd);
Result<Bmd> BmdFromJson(std::string_view json);
std::string EtlMdToJson(const EtlMd& md);
Result<EtlMd> EtlMdFromJson(std::string_view json);

// The maps of one metasync message; each may be absent.
struct MapSet {
  std::optional<Smap> smap;
  std::optional<Bmd> bmd;
  std::optional<EtlMd> etlmd;
};
// Parses {"smap": ..., "bmd": ..., "etlmd": ...} (each optional); kInvalidArgument if malformed.
Result<MapSet> MapSetFromJson(std::string_view json);

// What InstallNewer changed, and the bucket metadata it replaced.
struct Installed {
  bool smap = false, bmd = false, etlmd = false;
  std::shared_ptr<const Bmd> old_bmd;
};

// Thread-safe holder of the current versions. Readers get immutable snapshots.
class ClusterState {
 public:
  std::shared_ptr<const Smap> smap() const;
  std::shared_ptr<const Bmd> bmd() const;
  std::shared_ptr<const EtlMd> etlmd() const;
  // Installs `next` if it is newer; kConflict (stale) otherwise, unless force.
  Status SetSmap(Smap next, bool force = false);
  Status SetBmd(Bmd next, bool force = false);
  Status SetEtlMd(EtlMd next, bool force = false);
  // A pushed message, all or nothing: when any map in `next` is older than ours the whole
  // message is refused (kConflict) and nothing changes; maps at our version are kept as they
  // are; the newer ones are installed together. kConflict too when nothing in it is newer.
  Result<Installed> InstallNewer(MapSet next);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Smap> smap_ = std::make_shared<Smap>();
  std::shared_ptr<const Bmd> bmd_ = std::make_shared<Bmd>();
  std::shared_ptr<const EtlMd> etlmd_ = std::make_shared<EtlMd>();
};

}  // namespace aisle::cluster
