// Cluster maps for unit tests: nodes with fixed ids on made-up loopback ports (nothing listens).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/hrw.h"
#include "server/cluster/cluster_map.h"

namespace aisle::testing {

inline cluster::Node MakeNode(const std::string& id, const std::string& role, uint16_t port) {
  cluster::Node n;
  n.id = id;
  n.role = role;
  n.host = "127.0.0.1";
  n.port = port;
  n.id_digest = HrwDigest(id);
  return n;
}

// Targets get ports 9001, 9002, ... and proxies 8001, 8002, ... in the order given; the first
// proxy (if any) is the primary.
inline cluster::Smap MakeSmap(const std::vector<std::string>& targets,
                              const std::vector<std::string>& proxies = {}) {
  cluster::Smap smap;
  smap.version = 1;
  smap.uuid = "test-smap";
  uint16_t port = 9001;
  for (const auto& id : targets) smap.targets[id] = MakeNode(id, "target", port++);
  port = 8001;
  for (const auto& id : proxies) smap.proxies[id] = MakeNode(id, "proxy", port++);
  if (!proxies.empty()) smap.primary_id = proxies.front();
  return smap;
}

// The ids of `nodes`, in order (rankings read as lists of ids).
inline std::vector<std::string> Ids(const std::vector<const cluster::Node*>& nodes) {
  std::vector<std::string> out;
  for (const cluster::Node* n : nodes) out.push_back(n->id);
  return out;
}

}  // namespace aisle::testing
