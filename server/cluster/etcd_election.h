// EtcdElection: the primary proxy is whoever holds the leader key, created with an etcd lease
// (campaign: create-if-absent in one txn; the key goes when the lease expires). Tick() keeps
// the lease alive and campaigns; the caller runs it about every TTL/6 and steps down as soon
// as a round does not confirm leadership. Not thread-safe: one thread ticks.
#pragma once

#include <string>

#include "common/net/etcd_client.h"

namespace aisle::cluster {

class EtcdElection {
 public:
  // `value` is what the leader key holds while this proxy leads (EtcdMeta::LeaderValue).
  EtcdElection(etcd::EtcdClient* client, std::string key, std::string value, int ttl_s);

  struct Round {
    bool leader = false;  // the key holds our lease now
    int64_t lease = 0;
    Status error;  // why leadership could not be confirmed (etcd down, lease expired)
  };
  Round Tick();
  // Gives up leadership at once (revokes the lease: the key goes with it).
  void Resign();

 private:
  etcd::EtcdClient* client_;
  std::string key_, value_;
  int ttl_s_;
  int64_t lease_ = 0;
};

}  // namespace aisle::cluster
