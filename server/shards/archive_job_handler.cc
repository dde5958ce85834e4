// PUT /v1/buckets/B {"action":"archive"}: starts the archive job on this target.
#include "server/api/errors.h"
#include "server/cluster/target_cluster.h"
#include "server/jobs/job_registry.h"
#include "server/shards/archive_cluster_io.h"
#include "server/shards/archive_handlers.h"
#include "server/shards/archive_job.h"
#include "server/shards/shard_append.h"
#include "server/storage/store.h"

namespace aisle::api {

void StartArchiveJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     const std::string& value_json) {
  auto spec = shards::ParseArchiveMsg(value_json, bucket);
  if (!spec.ok()) return WriteError(req, resp, spec.status(), ctx.node);
  for (const std::string& b : {spec->src_bucket, spec->dst_bucket}) {
    auto h = ctx.store->HeadBucket(b);
    if (!h.ok() && ctx.cluster) {  // created at the primary a moment ago
      (void)ctx.cluster->SyncMaps();
      h = ctx.store->HeadBucket(b);
    }
    if (!h.ok()) return WriteError(req, resp, h.status(), ctx.node);
  }
  storage::Store* store = ctx.store;
  // In a cluster this target runs the whole job (the proxy picked it), over every target.
  shards::ArchiveIo io =
      ctx.cluster ? ClusterArchiveIo(ctx, *spec) : StandaloneArchiveIo(ctx.shards, *spec);
  // The buckets are read before the lambda takes `spec`: argument order is unspecified (GCC
  // builds the last argument first, which left both names empty in the job's record).
  std::string src = spec->src_bucket, dst = spec->dst_bucket;
  std::string id = ctx.jobs->Start(
      "archive", std::move(src), std::move(dst),
      [store, io = std::move(io), s = std::move(spec).value()](jobs::Job& job) {
        return shards::RunArchiveJob(store, s, io, job);
      },
      req.Query("job_id").value_or(""));
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

}  // namespace aisle::api
