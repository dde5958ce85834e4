// Store: the storage engine of a target. Buckets and objects on one or more mountpaths.
//
// Layout per mountpath MP (docs/formats/object.md):
//   MP/.aisle/node-id             node identity (first mountpath only)
//   MP/.aisle/tmp/                work files; removed at start (crash leftovers)
//   MP/.aisle/trash/              destroyed buckets being removed
//   MP/.aisle/undo/               undo records of in-place appends; rolled back at start
//   MP/.aisle/index/              the object index (LMDB: data.mdb, lock.mdb)
//   MP/ais/<bucket>/.props        bucket marker; a bucket dir is built aside and renamed in
//   MP/ais/<bucket>/<hh>/<hash>   one file per object: header + data; <hash> = XXH3-128 of
//                                 the name, so names never become paths ("a" and "a/b" coexist,
//                                 nothing escapes the mountpath)
// Objects are placed on mountpaths by AIStore's HRW over the object uname.
// Writes: temp file -> write -> fsync -> index (durable, with a pending record) -> rename ->
// fsync dir, then acknowledge. A persistent ordered index per mountpath (meta_index.h, LMDB
// under MP/.aisle/index/) serves lookups and listings; start reads no object file (a data
// directory without an index is indexed once).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/body.h"
#include "common/result.h"
#include "server/storage/fault_hook.h"
#include "server/storage/file_ranges.h"
#include "server/storage/file_util.h"
#include "server/storage/object_meta.h"

namespace aisle::storage {

struct StoreOptions {
  std::vector<std::string> mountpaths;  // at least one; created if missing
  uint64_t max_object_size = 0;         // 0 = unlimited; larger PUTs fail with kTooLarge
  // Bytes of each mountpath's mapped object index kept in the process's RSS before the pages
  // are dropped back to the page cache (MetaIndex); 0 = never drop.
  uint64_t index_resident_bytes = uint64_t{64} << 20;
};

struct BucketInfo {
  std::string name;
  int64_t created_ns = 0;
};

struct PutOptions {
  std::optional<uint64_t> expected_xxhash;  // verified; mismatch stores nothing
  std::vector<std::pair<std::string, std::string>> custom;
  // Set by intra-cluster copies (replication, rebalance) to keep the source's version/mtime.
  std::optional<uint64_t> version;
  std::optional<int64_t> mtime_ns;
  // Called once the body is read, before commit: may change custom values computed from the
  // data (the S3 MD5 ETag) but not the encoded header length (reserve same-length values).
  // A non-OK Status stores nothing.
  std::function<Status(ObjectMeta& meta)> finalize;
};

class ReadGuard;

// An open object: the fd stays valid even if the object is overwritten or deleted meanwhile,
// and its bytes stay those of the version opened: while any copy of `file` lives, the reader
// holds a read guard (read_guard.h) that makes an in-place append of the object fall back to
// a rewrite (a new file).
struct ObjectReader {
  std::shared_ptr<FileHandle> file;
  ObjectMeta meta;
  uint64_t data_offset = 0;
  std::string mountpath;
  // The whole data of a small object (<= kSmallObject), read together with the header, so
  // serving it needs no further read; empty for larger objects.
  std::string small_data;
  std::shared_ptr<ReadGuard> guard;  // the guard `file` carries

  // Ends the guard early, for every copy of `file`. Only for readers that never read the
  // header again nor data at or after the append point of their version (shard member reads:
  // an in-place append changes only the header and the bytes from the old end of entries on).
  void ReleaseGuard();
};
constexpr size_t kSmallObject = 60 * 1024;

// The whole data of an opened object in memory (a small object's without another read).
Result<std::string> ReadObjectData(const ObjectReader& r);

// Store::AppendInPlace: replace the data from `overwrite_at` on (a tar's end blocks) with
// `tail`, in the object's file, without copying the bytes before it.
struct InPlaceAppend {
  uint64_t expected_version = 0;  // the version whose layout the caller computed the tail for
  uint64_t overwrite_at = 0;      // data offset where the tail starts; at most
                                  // inplace::kMaxOldTail old bytes may follow it
  uint64_t tail_len = 0;
  uint64_t snapshot_at = 0;  // data offset (in the new data) whose XXH64 state to return
  // Xxh64Stream::SaveState of data [0, overwrite_at) of expected_version, or empty (then the
  // store reads those bytes once). Checked against the object's checksum before use.
  std::string prefix_state;
  std::optional<std::vector<std::pair<std::string, std::string>>> custom;  // replaces it
};

struct InPlaceResult {
  bool applied = false;
  std::string fallback;        // why not applied: the caller rewrites the object instead
  ObjectMeta meta;             // the new version, when applied
  std::string snapshot_state;  // XXH64 state of new data [0, snapshot_at), when applied
};

struct ListOptions {
  std::string prefix;
  std::string start_after;  // exclusive; the continuation token is the last name of a page
  size_t page_size = 1000;
};

struct ListEntry {
  std::string name;
  uint64_t size = 0;
  uint64_t xxhash = 0;
  uint64_t version = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  // The S3 ETag when the object has one in its custom metadata (the store's index keeps it)
  // or a listing carries it (a proxy's merged listing); empty: the xxhash stands for it.
  std::string etag;
};

struct ListPage {
  std::vector<ListEntry> entries;
  std::string next_token;  // empty when this is the last page
};

// Test hook: called at named steps of a write ("put.write", "put.fsync", "put.rename" (before
// the index), "put.index" (index durable, file not renamed yet), "put.dirsync"; deletes:
// "delete.index" (entry gone, file not yet); in-place appends: "append.undo" (record durable,
// object untouched), "append.tail" (tail written), "append.header" (header written, not fsynced),
// "append.commit" (object fsynced, record not yet removed), "append.done" (durable, before
// the acknowledgement)); a non-OK return fails the write there, as a crash or I/O error
// would. FaultResult::Crash() leaves the temp file (or undo record) behind, as a real crash
// does. FaultHook and FaultResult: server/storage/fault_hook.h.

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  Status CreateBucket(std::string_view bucket);
  Status DestroyBucket(std::string_view bucket);
  std::vector<BucketInfo> ListBuckets() const;
  Result<BucketInfo> HeadBucket(std::string_view bucket) const;

  Result<ObjectMeta> Put(std::string_view bucket, std::string_view name, BodyReader& body,
                         const PutOptions& opts);
  // Put of data already in files (S3 multipart completion), with Put's commit steps, fault
  // points and options. The data is the concatenation of `ranges`, copied into the temp file
  // in the kernel (copy_file_range) and hashed through mmap: it never passes through a user
  // buffer. The ranges must not change until this returns.
  Result<ObjectMeta> PutRanges(std::string_view bucket, std::string_view name,
                               const std::vector<FileRange>& ranges, const PutOptions& opts);
  // Commits the file at `path` itself as the object, copying nothing, when its data
  // [data_offset, data_offset + size) sits where the header ends (data_offset equals the
  // header length; see EncodedHeaderLen) and the file is on the object's mountpath's file
  // system: the store truncates it to data_offset + size, hashes the data, writes the header
  // into its first bytes, fsyncs it and renames it into place. Otherwise it falls back to
  // PutRanges over that range. On success `path` may be gone (renamed); on failure it is
  // left in place, its data intact. Nobody may write the file until this returns.
  Result<ObjectMeta> PutFile(std::string_view bucket, std::string_view name,
                             const std::string& path, uint64_t data_offset, uint64_t size,
                             const PutOptions& opts);
  Result<ObjectReader> Get(std::string_view bucket, std::string_view name) const;
  Status Delete(std::string_view bucket, std::string_view name);
  Status Rename(std::string_view bucket, std::string_view from, std::string_view to);
  // Merges (or with replace, sets) custom metadata; rewrites the object.
  Status SetCustom(std::string_view bucket, std::string_view name,
                   const std::vector<std::pair<std::string, std::string>>& custom, bool replace);
  Result<ListPage> List(std::string_view bucket, const ListOptions& opts) const;

  // APPEND sessions (AIStore's append_type=append|flush): the first call (empty handle)
  // starts a work file holding the current object data, each call appends, flush commits.
  // Returns the session id to pass back.
  Result<std::string> Append(std::string_view bucket, std::string_view name,
                             std::string_view session, BodyReader& body);
  Result<ObjectMeta> AppendFlush(std::string_view bucket, std::string_view name,
                                 std::string_view session, std::optional<uint64_t> expected);

  // In-place append (tar shards): see InPlaceAppend. Returns applied=false with a reason,
  // having changed nothing, when the object is not expected_version any more, the header
  // would change length, too many old bytes follow overwrite_at, or a reader holds the
  // object (ObjectReader::guard). Crash-safe: after a crash the object is the old or the new
  // version (undo record, rolled back by Open). Serialised with Put/Delete of the same name.
  Result<InPlaceResult> AppendInPlace(std::string_view bucket, std::string_view name,
                                      const InPlaceAppend& req, BodyReader& tail);

  const std::vector<std::string>& mountpaths() const;
  // An anonymous scratch file in the first mountpath's tmp dir (O_TMPFILE, or created and
  // unlinked at once), so a crash leaves nothing behind.
  Result<FileHandle> OpenSpool() const;
  size_t ObjectCount() const;
  void SetFaultHook(FaultHook hook);

  // Shards: path of a sidecar file (e.g. a shard's member index) kept beside the object on
  // its mountpath, under <bucket dir>/.shards/. Removed with the object (Delete) and with the
  // bucket; overwrites do not remove it, so callers tag its content with the object version.
  // kNotFound when the object does not exist.
  Result<std::string> SidecarPath(std::string_view bucket, std::string_view name,
                                  std::string_view suffix) const;

  // Integrity (verify.h): moves the object's file aside to its mountpath's quarantine dir
  // (work_dirs.h) and forgets the object, with its sidecars, so it is never served again.
  // With `opened`, only when the file in place is still the one `opened` read (a PUT that
  // replaced it meanwhile is kept: returns OK having moved nothing). kNotFound when absent.
  Status Quarantine(std::string_view bucket, std::string_view name, const ObjectReader* opened);
  // The object's file (tests and tools that inspect or damage it on purpose).
  Result<std::string> ObjectFile(std::string_view bucket, std::string_view name) const;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Canonical display names used in messages: ais://b and ais://b/o.
std::string BucketCname(std::string_view bucket);
std::string ObjectCname(std::string_view bucket, std::string_view name);

}  // namespace aisle::storage
