#include "server/cluster/etcd_meta.h"

#include <nlohmann/json.hpp>

namespace aisle::cluster {

using nlohmann::json;

EtcdMeta::EtcdMeta(etcd::EtcdClient* client, std::string prefix)
    : client_(client),
      prefix_(std::move(prefix)),
      leader_key_(prefix_ + "/leader"),
      smap_key_(prefix_ + "/md/smap"),
      bmd_key_(prefix_ + "/md/bmd"),
      etlmd_key_(prefix_ + "/md/etlmd") {}

std::string EtcdMeta::LeaderValue(const std::string& id, const std::string& url) {
  return json{{"id", id}, {"url", url}}.dump();
}

Result<EtcdSnapshot> EtcdMeta::Load() {
  AISLE_ASSIGN_OR_RETURN(etcd::RangeResult r,
                         client_->Range(prefix_ + "/", etcd::PrefixEnd(prefix_ + "/")));
  EtcdSnapshot s;
  for (const auto& kv : r.kvs) {
    if (kv.key == smap_key_) {
      AISLE_ASSIGN_OR_RETURN(Smap m, SmapFromJson(kv.value));
      s.smap = std::move(m);
      s.smap_rev = kv.mod_revision;
    } else if (kv.key == bmd_key_) {
      AISLE_ASSIGN_OR_RETURN(Bmd m, BmdFromJson(kv.value));
      s.bmd = std::move(m);
      s.bmd_rev = kv.mod_revision;
    } else if (kv.key == etlmd_key_) {
      AISLE_ASSIGN_OR_RETURN(EtlMd m, EtlMdFromJson(kv.value));
      s.etlmd = std::move(m);
      s.etlmd_rev = kv.mod_revision;
    } else if (kv.key == leader_key_) {
      json j = json::parse(kv.value, nullptr, false);
      if (j.is_object()) s.leader = EtcdLeader{j.value("id", ""), j.value("url", ""), kv.lease};
    }
  }
  return s;
}

void EtcdMeta::Adopt(const EtcdSnapshot& snap) {
  std::lock_guard<std::mutex> l(mu_);
  smap_rev_ = snap.smap_rev;
  bmd_rev_ = snap.bmd_rev;
  etlmd_rev_ = snap.etlmd_rev;
}

Result<bool> EtcdMeta::Commit(int64_t lease, const Smap* smap, const Bmd* bmd, const EtlMd* etlmd) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<etcd::Compare> cmp = {{leader_key_, "LEASE", "EQUAL", lease, ""}};
  std::vector<etcd::Op> ops;
  auto add = [&](const std::string& key, int64_t rev, std::string value) {
    cmp.push_back({key, "MOD", "EQUAL", rev, ""});
    ops.push_back({etcd::Op::kPut, key, std::move(value), "", 0});
  };
  if (smap) add(smap_key_, smap_rev_, SmapToJson(*smap));
  if (bmd) add(bmd_key_, bmd_rev_, BmdToJson(*bmd));
  if (etlmd) add(etlmd_key_, etlmd_rev_, EtlMdToJson(*etlmd));
  if (ops.empty()) return true;
  AISLE_ASSIGN_OR_RETURN(etcd::TxnResult r, client_->Txn(cmp, ops));
  if (!r.succeeded) return false;
  if (smap) smap_rev_ = r.revision;
  if (bmd) bmd_rev_ = r.revision;
  if (etlmd) etlmd_rev_ = r.revision;
  return true;
}

}  // namespace aisle::cluster
