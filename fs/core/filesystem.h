// Filesystem: the semantics of an aisle-fs mount, independent of FUSE. Every method maps
// one kernel request to cluster calls through ClusterClient and returns a Result; errors
// become errno through errno_map (ToErrno). Thread-safe: the FUSE loop calls it from many
// threads. Lock order: handle/dir tables (mu_) -> FileHandle::mu -> InodeTable / MetaCache
// (leaf locks); no lock is held across a cluster call except a handle's own mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/result.h"
#include "fs/client/cluster_client.h"
#include "fs/core/dir_listing.h"
#include "fs/core/inode_table.h"
#include "fs/core/meta_cache.h"
#include "fs/core/options.h"
#include "fs/core/task_pool.h"
#include "fs/metrics/fs_metrics.h"

namespace aisle::fs {

class Prefetcher;
class BufferPool;
class BatchCache;
class BatchPrefetcher;
struct BatchDir;
class WriteSpool;

struct AttrOut {
  uint64_t ino = 0;
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;  // including S_IFDIR/S_IFREG
  uint32_t nlink = 1;
  uint32_t uid = 0, gid = 0;
};

struct EntryOut {
  AttrOut attr;  // attr.ino == 0: a negative entry (cache "no such name" for entry_timeout)
  double entry_timeout = 0;
  double attr_timeout = 0;
};

struct OpenOut {
  uint64_t fh = 0;
  bool keep_cache = false;  // the object version is the one the kernel's page cache holds
  bool direct_io = false;   // transformed files: size unknown until read
  bool noflush = false;     // read-only: close() needs no FLUSH round trip
};

struct DirentOut {
  std::string name;
  uint64_t ino = 0;
  bool is_dir = false;
  uint64_t next_offset = 0;
};

// Receives one directory entry (`entry` set for readdirplus); returns false when the
// reply buffer is full (the entry was not added).
using DirFiller = std::function<bool(const DirentOut&, const EntryOut* entry)>;

class Filesystem {
 public:
  // `metrics`: where the filesystem and its FUSE callbacks count (null: a private set).
  Filesystem(ClusterClient& client, FsOptions opts, FsMetrics* metrics = nullptr);
  ~Filesystem();

  Result<EntryOut> Lookup(uint64_t parent, const std::string& name);
  void Forget(uint64_t ino, uint64_t nlookup);
  Result<AttrOut> GetAttr(uint64_t ino);
  // Truncates when `size` is set (through the open handle `fh` if given); other attribute
  // changes (mode, owner, times) are accepted and not stored.
  Result<AttrOut> SetAttr(uint64_t ino, std::optional<uint64_t> size, std::optional<uint64_t> fh);

  Result<uint64_t> OpenDir(uint64_t ino);
  Status ReadDir(uint64_t fh, uint64_t offset, bool plus, const DirFiller& fill);
  void ReleaseDir(uint64_t fh);

  Result<EntryOut> MkDir(uint64_t parent, const std::string& name);
  Status Unlink(uint64_t parent, const std::string& name);
  Status RmDir(uint64_t parent, const std::string& name);
  // flags: RENAME_NOREPLACE honoured, RENAME_EXCHANGE refused (EINVAL).
  Status Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                const std::string& new_name, unsigned flags);

  Result<OpenOut> Open(uint64_t ino, int flags);
  Result<std::pair<EntryOut, OpenOut>> Create(uint64_t parent, const std::string& name, int flags);
  Result<size_t> Read(uint64_t fh, uint64_t offset, size_t n, char* out);
  // Like Read, but may answer without copying: then *view points at the bytes and *hold
  // keeps them alive (until released by the caller); otherwise *view == out.
  Result<size_t> ReadView(uint64_t fh, uint64_t offset, size_t n, char* out, const char** view,
                          std::shared_ptr<const void>* hold);
  // For a handle read from a local object (local reads): where the bytes of a read lie in
  // the target's file, to be spliced to the kernel rather than copied; *hold keeps that file
  // open until the caller has replied. nullopt: use ReadView.
  std::optional<LocalObject::FileSpan> ReadSpan(uint64_t fh, uint64_t offset, size_t n,
                                                std::shared_ptr<const void>* hold);
  // A read served by moving the bytes of an open range GET into the pipe `pipe_wr` without a
  // copy, or nullopt when this read cannot be (then use ReadView). `bytes` is short where the
  // object ended or, with `pipe_full`, where the pipe ran out of room: ReadView from there
  // reads the rest. An error may leave some bytes in the pipe.
  struct PipeRead {
    size_t bytes = 0;
    bool pipe_full = false;
  };
  Result<std::optional<PipeRead>> ReadToPipe(uint64_t fh, uint64_t offset, size_t n, int pipe_wr);
  Result<size_t> Write(uint64_t fh, uint64_t offset, const char* data, size_t n);
  // Makes written data durable: PUT of the spooled object (no-op when clean).
  Status Flush(uint64_t fh);
  Status Release(uint64_t fh);

  const FsOptions& options() const { return opts_; }
  size_t inode_count() const { return table_.size(); }
  // The batch prefetch cache (null with prefetch off), for tests.
  const BatchCache* batch_cache() const { return batch_cache_.get(); }
  FsMetrics& metrics() { return *metrics_; }

 private:
  struct FileHandle;
  struct DirHandle;
  enum class DirClass { kBucketList, kEtlRoot, kObjectDir, kShardDir, kNotDir };

  DirClass Classify(const Inode& in) const;
  // Resolves `name` under `parent` (cache, listing or targeted list); updates the table.
  Result<Inode> Resolve(const Inode& parent, const std::string& name, uint64_t lookups);
  // Resolve in .etl/: only registered transforms are there.
  Result<Inode> ResolveTransform(const Inode& parent, const std::string& name,
                                 Clock::time_point exp, uint64_t lookups);
  // `name` (key `full`) in the directory `spec` lists, settled by lookup windows: cached ones,
  // else the directory's head, else a window from `full` on. nullopt: it does not exist.
  Result<std::optional<DirEntry>> LookupByWindows(const ListingSpec& spec, const std::string& name,
                                                  const std::string& full);
  // LookupByWindows' last step: lists (and caches) a window starting at `full`.
  Result<std::optional<DirEntry>> LookupInNewWindow(const ListingSpec& spec,
                                                    const std::string& name,
                                                    const std::string& full);
  Result<std::shared_ptr<const DirListing>> ListDir(const Inode& dir);
  // What an object or shard directory lists (and, for object dirs, its key).
  bool SpecFor(const Inode& dir, ListingSpec* spec, std::string* key) const;
  // Entry i of an open directory (nullptr after the last), waiting for a streaming listing.
  Result<const DirEntry*> EntryAt(DirHandle& h, size_t i);
  // Kind, location and attributes of a listed child of `dir`.
  void ChildOf(const Inode& dir, const DirEntry& e, Kind* kind, Location* loc) const;
  AttrOut ToAttr(const Inode& in) const;
  EntryOut ToEntry(const Inode& in) const;
  Result<Inode> GetInode(uint64_t ino) const;
  std::shared_ptr<FileHandle> GetHandle(uint64_t fh);
  // A read from the handle's local object (opened by the first read); nullopt when it has
  // none or it failed (then the network reader serves this and every later read).
  std::optional<Result<size_t>> ReadLocal(FileHandle& h, uint64_t offset, size_t n, char* out);
  // The handle's local object, opened by the first call (null: none, or it failed).
  LocalObject* LocalOf(FileHandle& h);
  ObjectRef RefOf(const Inode& in) const;
  Status CommitLocked(FileHandle& h);
  // Registers a file this mount just created (its inode, a write handle h) and opens it.
  Result<std::pair<EntryOut, OpenOut>> OpenCreated(uint64_t parent, const std::string& name,
                                                   Kind kind, const Location& loc,
                                                   std::shared_ptr<FileHandle> h);
  Result<std::pair<EntryOut, OpenOut>> CreateMember(const Inode& shard_dir,
                                                    const std::string& name);
  Clock::time_point AttrExpiry() const;
  // Batch prefetch: what `dir` lists, as the prefetcher addresses it (false: not prefetched).
  bool BatchDirOf(const Inode& dir, BatchDir* out) const;
  // A reader opened `in`: fetch its small siblings ahead (listing its directory first when no
  // listing is cached).
  void NoteOpen(const Inode& in);
  // The whole listing of `dir` was read: fetch all its small files when they fit.
  void NoteListing(const Inode& dir, const std::shared_ptr<const DirListing>& listing);
  // All members of the shard `shard` (its top directory), cached by the shard's version.
  // A shard whose attributes expired is first re-resolved (its version may have changed).
  Result<std::shared_ptr<const DirListing>> ShardMembers(const Inode& shard);
  bool Writable(const Inode& parent_or_file) const;

  ClusterClient& client_;
  const FsOptions opts_;
  InodeTable table_;
  MetaCache cache_;
  TaskPool pool_;
  std::shared_ptr<BufferPool> buffers_;     // read buffers, recycled across files
  std::unique_ptr<FsMetrics> own_metrics_;  // when none was given
  FsMetrics* metrics_;

  std::mutex mu_;
  std::atomic<uint64_t> next_fh_{1};
  std::unordered_map<uint64_t, std::shared_ptr<FileHandle>> files_;  // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_;    // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, int> writers_;  // ino -> open write handles; GUARDED_BY(mu_)

  // Closes read streams idle for opts_.stream_idle_timeout (checked every quarter of it).
  void CloseIdleStreamsLoop();
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::condition_variable stop_cv_;
  std::thread stream_closer_;

  // Last: its threads use the members above and stop first.
  std::unique_ptr<BatchCache> batch_cache_;
  std::unique_ptr<BatchPrefetcher> batcher_;
};

}  // namespace aisle::fs
