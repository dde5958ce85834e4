// ClusterMap: the targets of the cluster map (GET /v1/daemon?what=smap) and HRW ownership,
// so the client can send object requests straight to the owning target; and the proxies, so
// proxy-bound requests can fail over to one the user did not list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::fs {

class ClusterMap {
 public:
  struct Target {
    std::string id;
    std::string url;  // public direct_url
    uint64_t digest = 0;
  };

  // Parses the smap JSON; targets without a URL are skipped.
  static Result<ClusterMap> Parse(std::string_view json);

  // URL of the owning target by AIStore's HRW, or "" when the map has fewer than two targets
  // (then the endpoint serves everything and there is nothing to gain).
  std::string OwnerUrl(std::string_view bucket, std::string_view object) const;
  // The owning target (also of a one-target map); empty id when the map is empty.
  Target OwnerOf(std::string_view bucket, std::string_view object) const;
  size_t size() const { return targets_.size(); }
  // Public URLs of the proxies (pmap), primary or not.
  const std::vector<std::string>& proxies() const { return proxies_; }

 private:
  const Target* Owner(std::string_view bucket, std::string_view object) const;

  std::vector<Target> targets_;
  std::vector<std::string> proxies_;
};

}  // namespace aisle::fs
