// ClusterMap: the targets of the cluster map (GET /v1/daemon?what=smap) and HRW ownership,
// so the client can send object requests straight to the owning target.
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

 private:
  const Target* Owner(std::string_view bucket, std::string_view object) const;

  std::vector<Target> targets_;
};

}  // namespace aisle::fs
