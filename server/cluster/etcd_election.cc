#include "server/cluster/etcd_election.h"

namespace aisle::cluster {

EtcdElection::EtcdElection(etcd::EtcdClient* client, std::string key, std::string value, int ttl_s)
    : client_(client), key_(std::move(key)), value_(std::move(value)), ttl_s_(ttl_s) {}

EtcdElection::Round EtcdElection::Tick() {
  Round r;
  if (lease_ == 0) {
    auto g = client_->LeaseGrant(ttl_s_);
    if (!g.ok()) {
      r.error = g.status();
      return r;
    }
    lease_ = *g;
  } else {
    auto ttl = client_->LeaseKeepAlive(lease_);
    if (!ttl.ok()) {
      r.error = ttl.status().WithContext("etcd lease keepalive");
      return r;
    }
    if (*ttl <= 0) {
      lease_ = 0;
      r.error = Status::Unavailable("the etcd lease expired");
      return r;
    }
  }
  r.lease = lease_;
  auto t =
      client_->Txn({{key_, "CREATE", "EQUAL", 0, ""}}, {{etcd::Op::kPut, key_, value_, "", lease_}},
                   {{etcd::Op::kRange, key_, "", "", 0}});
  if (!t.ok()) {
    r.error = t.status().WithContext("etcd campaign");
    return r;
  }
  r.leader = t->succeeded || (!t->kvs.empty() && t->kvs[0].lease == lease_);
  return r;
}

void EtcdElection::Resign() {
  if (lease_ == 0) return;
  (void)client_->LeaseRevoke(lease_);
  lease_ = 0;
}

}  // namespace aisle::cluster
