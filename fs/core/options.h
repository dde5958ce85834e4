// FsOptions: how the mount behaves. Defaults are the values a plain `aisle-fs EP MNT` gets.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace aisle::fs {

struct FsOptions {
  std::string bucket;      // single-bucket mount ("" = whole cluster: buckets at the root)
  bool read_only = false;  // -o ro: every modifying op gets EROFS
  uid_t uid = 0;           // owner shown for every file (default: the mounting user)
  gid_t gid = 0;
  mode_t umask = 022;                // files 0666 & ~umask, directories 0777 & ~umask
  double attr_timeout = 5.0;         // seconds the kernel and we trust an attribute
  double entry_timeout = 5.0;        // seconds the kernel trusts a name -> inode mapping
  double dir_timeout = 5.0;          // seconds a directory listing is reused for lookups/readdir
  double negative_timeout = 2.0;     // seconds a "no such name" answer is reused
  uint64_t readahead = 64ull << 20;  // max sequential readahead window per open file (bytes)
  uint64_t random_read = 256 << 10;  // bytes fetched for one non-sequential read
  int max_conns = 16;                // parallel range GETs (threads of the fetch pool)
  bool shards = true;                // show .tar/.tgz/.zip/... objects as directories of members
  // Files of at least this size are read without the kernel page cache (-o direct_io: all;
  // -o direct_io_above=SIZE: the big ones): one copy less per byte when streaming, no
  // caching across opens, and a MAP_SHARED mmap of such a file fails with ENODEV.
  uint64_t direct_io_from = UINT64_MAX;  // UINT64_MAX: none
  // A read stream (one open range GET per sequentially read file) that no read has used for
  // this long is closed, so a reader that pauses does not hold a node's worker; the next read
  // opens a new one. 0: never.
  double stream_idle_timeout = 1.0;
  // Read objects whose owning target runs on this host from the target's files (pread on a
  // descriptor the target hands over), not over HTTP. Shard members and transforms still
  // read over HTTP.
  bool local_reads = true;
  // Batch prefetch (GetBatch): small files of a directory or shard a reader started on, and
  // whole small directories once listed, fetched ahead into a RAM cache of `prefetch_mem`.
  bool prefetch = true;
  uint64_t prefetch_mem = 512ull << 20;
  uint64_t prefetch_max_object = 1ull << 20;  // only objects and members up to this size
  int prefetch_streams = 4;                   // GetBatch requests in flight
  // Shard member listings kept (by shard version: a shard's members never change without a
  // new version), counted in members.
  uint64_t shard_listing_members = 4'000'000;
  std::string spool_dir = "/tmp";  // where non-streamed writes are spooled before the PUT
};

}  // namespace aisle::fs
