// EtcdMeta: the cluster's metadata in etcd (--etcd): under PREFIX, "leader" (the elected
// primary, {"id","url"}, bound to its lease) and "md/smap", "md/bmd", "md/etlmd" (the maps in
// their JSON shapes). Writes are fenced: a txn commits only while the leader key still
// carries the writer's lease and every written key is at the revision the writer last saw.
// Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "common/net/etcd_client.h"
#include "server/cluster/cluster_map.h"

namespace aisle::cluster {

struct EtcdLeader {
  std::string id, url;
  int64_t lease = 0;
};

struct EtcdSnapshot {
  std::optional<Smap> smap;
  std::optional<Bmd> bmd;
  std::optional<EtlMd> etlmd;
  int64_t smap_rev = 0, bmd_rev = 0, etlmd_rev = 0;  // mod revisions (0: absent)
  std::optional<EtcdLeader> leader;
};

class EtcdMeta {
 public:
  EtcdMeta(etcd::EtcdClient* client, std::string prefix);

  const std::string& leader_key() const { return leader_key_; }
  static std::string LeaderValue(const std::string& id, const std::string& url);

  // Reads everything under the prefix in one range (kUnavailable: etcd did not answer).
  Result<EtcdSnapshot> Load();
  // The revisions later commits compare against (a new primary adopts what it loaded).
  void Adopt(const EtcdSnapshot& snap);
  // Writes the given maps (null: unchanged) in one fenced txn. false: the comparison failed
  // (the lease is gone or another writer changed a key): the caller is no longer primary.
  Result<bool> Commit(int64_t lease, const Smap* smap, const Bmd* bmd, const EtlMd* etlmd);

 private:
  etcd::EtcdClient* client_;
  std::string prefix_, leader_key_, smap_key_, bmd_key_, etlmd_key_;
  std::mutex mu_;
  int64_t smap_rev_ = 0, bmd_rev_ = 0, etlmd_rev_ = 0;  // guarded by mu_
};

}  // namespace aisle::cluster
