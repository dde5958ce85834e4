// Appending all members of one archive (the spool an aate archive job built, or the body of an
// intra-cluster PUT ?archappend=true) to a shard in one operation: tar into tar goes in place
// as ONE Store::AppendInPlace (one undo record, one fsync, only the new bytes written); other
// combinations rewrite the shard (old members + new ones) through a spool. Serialised with
// PUT ?archpath= by ShardCache::WriteLock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/archive/archive_format.h"
#include "common/archive/shard_index.h"
#include "common/result.h"
#include "server/api/http_types.h"
#include "server/api/target_context.h"
#include "server/shards/archive_job.h"
#include "server/shards/concat_reader.h"
#include "server/shards/shard_cache.h"
#include "server/storage/store.h"

namespace aisle::api {

// AISLE_APPEND_INPLACE=0 in the node's environment forces rewrites (benchmarks compare them).
bool InPlaceAppendsEnabled();

struct ShardAppendResult {
  std::string mode;  // "create", "inplace" or "rewrite" (as Ais-Append-Mode)
  storage::ObjectMeta meta;
};

// `cache` is the node's shard cache (its store is the one written).

// Appends the members of the archive in bytes [0, size) of fd (format fmt) to bucket/shard;
// a missing shard is created from those bytes as they are. A name already in the shard: a tar
// keeps the old member, shadowed by the new one (reads and listings see the new one), as PUT
// ?archpath= does; a rewrite drops the old one.
Result<ShardAppendResult> AppendArchive(ShardCache& cache, std::string_view bucket,
                                        std::string_view shard, int fd, uint64_t size,
                                        archive::Format fmt);

// Tar into tar: new entries (tar headers + data + padding, laid out by `add_entries` into a
// reader, `entries_len` bytes) replace the old end blocks of the shard that `obj`/`old`
// describe, in place when the store can, else as a new version (old entries + new). `added`
// are the new members with offsets relative to the start of the entries; the index is
// extended with them, not rebuilt. Used by PUT ?archpath= (one member) and AppendArchive.
Result<ShardAppendResult> AppendTarTail(ShardCache& cache, std::string_view bucket,
                                        std::string_view shard, const storage::ObjectReader& obj,
                                        const archive::ShardIndex& old,
                                        const std::function<void(ConcatReader&)>& add_entries,
                                        uint64_t entries_len,
                                        const std::vector<archive::Member>& added);

// A standalone node's archive job I/O: LocalArchiveIo plus append_shard through AppendArchive.
shards::ArchiveIo StandaloneArchiveIo(ShardCache* cache, const shards::ArchiveSpec& spec);

// PUT /v1/objects/B/SHARD?archappend=true[&archmime=.tar], Aisle-internal (Aisle-Intra
// header): the body is an archive whose members AppendArchive appends. Answers
// Ais-Append-Mode. The archive job's way to append at a destination owner elsewhere.
void HandleArchiveAppend(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                         std::string_view shard);

}  // namespace aisle::api
