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
#include "server/api/target_api.h"

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

struct ArchListEntry {
  std::string name;  // "<shard>/<member>"
  uint64_t size = 0;
};
// Members of `shard` for list-objects with LsArchDir; kInvalidArgument when it is not a
// readable archive (the caller then lists the object alone).
// Sorted by name; the list of the shard's current index is kept (a few shards), so paging
// through one shard directory at a time does not sort 100k members per page.
using ArchMembers = std::shared_ptr<const std::vector<ArchListEntry>>;
Result<ArchMembers> ListShardMembers(ApiContext& ctx, std::string_view bucket,
                                     std::string_view shard);
// The whole bytes of one member (an inline transform's input); kTooLarge beyond `max`.
Result<std::string> ReadMemberBytes(ApiContext& ctx, std::string_view bucket,
                                    std::string_view shard, const std::string& archpath,
                                    uint64_t max);
// True when the name has a shard extension (.tar, .tgz, .tar.gz, .zip, .tar.lz4, .tar.zst).
bool LooksLikeShard(std::string_view name);

}  // namespace aisle::api
