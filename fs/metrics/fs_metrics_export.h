// Registers an aisle-fs mount's metric families (aisle_fs_*, docs/METRICS.md) in a
// metrics::Registry: the FsMetrics counters plus the prefetch cache read at scrape time.
#pragma once

#include <cstdint>
#include <functional>

#include "fs/metrics/fs_metrics.h"
#include "server/metrics/registry.h"

namespace aisle::fs {

// What the batch prefetch cache holds, read at scrape time (all zero with prefetch off).
struct CacheNumbers {
  uint64_t hits = 0, misses = 0, bytes = 0;
};

// REQUIRES: `m` and `cache` outlive the registry's use.
void RegisterFsMetrics(const FsMetrics& m, std::function<CacheNumbers()> cache,
                       metrics::Registry* reg);

}  // namespace aisle::fs
