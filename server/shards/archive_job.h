// The "archive" job: packs objects (a list, a brace template or a prefix) into shards in a
// destination bucket, streaming each object into a spool file (never a shard in memory),
// splitting at a maximum shard size, and committing each shard through Store::Put. With
// aate (append-if-exists) the spool's members are appended to an existing shard instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/archive/archive_format.h"
#include "common/result.h"
#include "server/jobs/job_registry.h"
#include "server/storage/store.h"

namespace aisle::shards {

struct ArchiveSpec {
  std::string src_bucket;
  std::string dst_bucket;
  std::string archname;  // the shard name; with a split: stem-NNNN.ext
  archive::Format format = archive::Format::kUnknown;
  std::vector<std::string> objnames;  // or:
  std::string templ;                  // "img-{0000..9999}.jpg" (common/name_template.h); or:
  std::string prefix;                 // Aisle extension; all empty = whole bucket
  bool base_name_only = false;        // bnonly: member = basename of the object
  bool include_src_bucket = false;    // isbn: member = bucket/object
  bool continue_on_error = false;     // coer: skip missing/unreadable objects
  uint64_t max_shard_size = 0;        // Aisle extension; 0 = one shard
  bool append_if_exists = false;      // aate: append to archname if it exists (no split)
};

// Parses AIStore's ArchiveBckMsg (keys case-insensitive) for source bucket src.
Result<ArchiveSpec> ParseArchiveMsg(const std::string& value_json, std::string_view src);

// The name of the i-th shard when splitting (archname itself when not splitting).
std::string ShardName(const ArchiveSpec& spec, size_t i);

// A source object opened for reading: its bytes are [offset, offset + size) of file.
struct SourceObject {
  std::shared_ptr<storage::FileHandle> file;
  uint64_t offset = 0;
  uint64_t size = 0;
  int64_t mtime_s = 0;
};

// Where the job reads sources and writes shards: the local store (a standalone node) or the
// cluster (server/shards/archive_cluster_io.cc; the jobs library knows no HTTP or cluster map).
struct ArchiveIo {
  // Source names with this prefix ("" = all), sorted and without duplicates.
  std::function<Result<std::vector<std::string>>(const std::string& prefix)> list;
  std::function<Result<SourceObject>(const std::string& name)> open;
  // Stores a finished shard: bytes [0, size) of fd, under `name` in the destination bucket.
  std::function<Status(const std::string& name, int fd, uint64_t size)> put_shard;
  // aate: appends the members of the finished shard in fd (format spec.format) to `name`,
  // creating it when missing. Returns how: "create", "inplace" or "rewrite". Needs the
  // node's shard machinery (server/shards/shard_append.h), so LocalArchiveIo leaves it unset.
  std::function<Result<std::string>(const std::string& name, int fd, uint64_t size)> append_shard;
};

// Reads from and writes to `store` only (no append_shard).
ArchiveIo LocalArchiveIo(storage::Store* store, const ArchiveSpec& spec);

// Runs the job body; polls job.aborted() between objects. `store` provides spool files.
Status RunArchiveJob(storage::Store* store, const ArchiveSpec& spec, const ArchiveIo& io,
                     jobs::Job& job);
// The same with LocalArchiveIo.
Status RunArchiveJob(storage::Store* store, const ArchiveSpec& spec, jobs::Job& job);

}  // namespace aisle::shards
