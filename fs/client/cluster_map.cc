#include "fs/client/cluster_map.h"

#include <nlohmann/json.hpp>

#include "common/hrw.h"

namespace aisle::fs {

Result<ClusterMap> ClusterMap::Parse(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("smap: not a JSON object");
  ClusterMap map;
  auto url_of = [](const nlohmann::json& node) {
    std::string url;
    if (!node.is_object()) return url;
    if (auto pn = node.find("public_net"); pn != node.end() && pn->is_object()) {
      if (auto u = pn->find("direct_url"); u != pn->end() && u->is_string()) url = *u;
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  };
  if (auto pmap = j.find("pmap"); pmap != j.end() && pmap->is_object()) {
    for (const auto& node : *pmap) {
      if (std::string url = url_of(node); !url.empty()) map.proxies_.push_back(std::move(url));
    }
  }
  auto tmap = j.find("tmap");
  if (tmap == j.end() || !tmap->is_object()) return map;
  for (auto it = tmap->begin(); it != tmap->end(); ++it) {
    std::string url = url_of(it.value());
    if (url.empty()) continue;
    map.targets_.push_back({it.key(), url, HrwDigest(it.key())});
  }
  return map;
}

std::string ClusterMap::OwnerUrl(std::string_view bucket, std::string_view object) const {
  if (targets_.size() < 2) return {};
  return Owner(bucket, object)->url;
}

ClusterMap::Target ClusterMap::OwnerOf(std::string_view bucket, std::string_view object) const {
  const Target* t = Owner(bucket, object);
  return t ? *t : Target{};
}

const ClusterMap::Target* ClusterMap::Owner(std::string_view bucket,
                                            std::string_view object) const {
  if (targets_.empty()) return nullptr;
  uint64_t name = HrwDigest(MakeUname(bucket, object));
  const Target* best = nullptr;
  uint64_t best_score = 0;
  for (const auto& t : targets_) {
    uint64_t s = HrwScore(t.digest, name);
    if (best == nullptr || s > best_score) best = &t, best_score = s;
  }
  return best;
}

}  // namespace aisle::fs
