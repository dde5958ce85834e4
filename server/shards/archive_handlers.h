// Shard requests on /v1/objects/B/SHARD: GET/HEAD one member (?archpath=, Range inside it),
// GET a TAR of matching members (?archregx=&archmode=), GET a JSON member listing with optional
// WebDataset sample grouping (?archlist=true[&group=samples]), and PUT ?archpath= to append a
// member (Ais-Pine flags). Plus the member expansion of list-objects with LsArchDir.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/http_types.h"
#include "server/api/target_context.h"
#include "server/shards/shard_cache.h"

namespace aisle::api {

constexpr uint64_t kLsArchDir = 8;
constexpr uint32_t kEntryInArch = 128;
constexpr uint32_t kEntryIsArchive = 512;

// True when the request addresses members of a shard (non-empty archpath, archregx or
// archlist). Python sends archpath= and archregx= together, one empty: empty means absent.
bool IsArchiveRequest(const Request& req);
// Serves an archive request (IsArchiveRequest was true) on bucket/object.
void HandleArchive(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                   std::string_view object);

// Members of `shard` for list-objects with LsArchDir, sorted (ShardCache::Members keeps the
// list with the shard's index); kInvalidArgument when it is not a readable archive (the
// caller then lists the object alone).
Result<ShardMembers> ListShardMembers(ApiContext& ctx, std::string_view bucket,
                                      std::string_view shard);
// The whole bytes of one member (an inline transform's input); kTooLarge beyond `max`.
Result<std::string> ReadMemberBytes(ApiContext& ctx, std::string_view bucket,
                                    std::string_view shard, const std::string& archpath,
                                    uint64_t max);
// PUT /v1/buckets/B {"action":"archive","value":{ArchiveBckMsg}} -> job id text (`?job_id=`
// when the proxy chose it). On a clustered target the job reads and writes cluster-wide.
void StartArchiveJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     const std::string& value_json);

// True when the name has a shard extension (.tar, .tgz, .tar.gz, .zip, .tar.lz4, .tar.zst).
bool LooksLikeShard(std::string_view name);

}  // namespace aisle::api
