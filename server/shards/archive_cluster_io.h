// The archive job inside a cluster: one target runs it, listing the source bucket on every
// active target, reading each source object from its owner and writing each shard to the
// destination owner (then its extra copies); with aate, appending to it there instead.
#pragma once

#include "server/api/target_context.h"
#include "server/shards/archive_job.h"

namespace aisle::api {

// ctx.cluster must be set; ctx is copied (the job outlives the request).
shards::ArchiveIo ClusterArchiveIo(const ApiContext& ctx, const shards::ArchiveSpec& spec);

}  // namespace aisle::api
