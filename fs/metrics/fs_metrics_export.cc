#include "fs/metrics/fs_metrics_export.h"

#include <cstring>
#include <string>

namespace aisle::fs {

void RegisterFsMetrics(const FsMetrics& m, std::function<CacheNumbers()> cache,
                       metrics::Registry* reg) {
  using metrics::MetricType;
  using metrics::Sample;
  reg->Add(
      "aisle_fs_ops_total", "FUSE operations by kind", MetricType::kCounter,
      [&m](std::vector<Sample>& out) {
        for (size_t i = 0; i < m.ops.size(); ++i) {
          out.push_back(Sample::Of(m.ops[i].Value(), {{"op", FuseOpName(static_cast<FuseOp>(i))}}));
        }
      });
  reg->AddCounter("aisle_fs_read_bytes_total", "Bytes returned to read()", &m.read_bytes);
  reg->AddCounter("aisle_fs_written_bytes_total", "Bytes accepted by write()", &m.written_bytes);
  reg->Add("aisle_fs_errors_total", "FUSE replies with an error, by errno name",
           MetricType::kCounter, [&m](std::vector<Sample>& out) {
             for (int e = 1; e <= FsMetrics::kMaxErrno; ++e) {
               uint64_t n = m.errors[e].Value();
               if (n == 0) continue;  // only the errnos seen
               const char* name = strerrorname_np(e);
               out.push_back(Sample::Of(n, {{"errno", name ? name : std::to_string(e)}}));
             }
           });
  reg->AddCounter("aisle_fs_http_requests_total", "HTTP requests to cluster nodes",
                  &m.http_requests);
  reg->AddCounter("aisle_fs_http_errors_total",
                  "HTTP requests to cluster nodes that got no answer or a non-2xx status",
                  &m.http_errors);
  reg->AddCounter("aisle_fs_local_reads_total",
                  "Objects opened from a co-located target's files (local reads)", &m.local_reads);
  reg->Add("aisle_fs_prefetch_cache_hits_total",
           "Opens answered from the prefetch (GetBatch) cache", MetricType::kCounter,
           [cache](std::vector<Sample>& out) { out.push_back(Sample::Of(cache().hits)); });
  reg->Add("aisle_fs_prefetch_cache_misses_total",
           "Opens of prefetched entries the cache could not answer", MetricType::kCounter,
           [cache](std::vector<Sample>& out) { out.push_back(Sample::Of(cache().misses)); });
  reg->Add("aisle_fs_prefetch_cache_bytes", "Bytes held by the prefetch cache", MetricType::kGauge,
           [cache](std::vector<Sample>& out) { out.push_back(Sample::Of(cache().bytes)); });
}

}  // namespace aisle::fs
