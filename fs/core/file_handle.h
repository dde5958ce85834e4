// Internal to fs/core: the per-open state shared by filesystem.cc (namespace, reads)
// and filesystem_write.cc (create/write/flush/release).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "fs/core/dir_listing.h"
#include "fs/core/filesystem.h"
#include "fs/core/prefetcher.h"
#include "fs/core/stream_upload.h"
#include "fs/core/write_spool.h"

namespace aisle::fs {

// The bucket/key an object directory lists (the root of a single-bucket mount included).
inline void ObjectDirOf(const Inode& in, const FsOptions& o, std::string* bucket,
                        std::string* key) {
  if (in.kind == Kind::kRoot) {
    *bucket = o.bucket;
    key->clear();
  } else {
    *bucket = in.loc.bucket;
    *key = in.kind == Kind::kBucket ? std::string() : in.loc.key;
  }
}

struct Filesystem::FileHandle {
  std::mutex mu;
  Inode inode;                         // as of open; loc/size used for I/O
  std::unique_ptr<Prefetcher> reader;  // read-only handles
  // The whole object, fetched ahead by GetBatch at the version opened: reads are served from
  // it (no request, no local read).
  std::shared_ptr<const std::string> cached;
  // Read-only handles of whole objects: the first read that reaches us asks the owning target
  // for its file (a file the page cache serves never asks); when the target is on this host,
  // reads are preads of that file. After a failed local read `reader` serves the rest.
  bool may_read_local = false;
  std::once_flag local_once;
  std::unique_ptr<LocalObject> local;  // set once, under local_once
  std::atomic<bool> local_failed{false};
  std::unique_ptr<WriteSpool> spool;  // handles open for writing: every byte, always
  // While a new/truncated file is written strictly sequentially, its PUT already runs.
  std::unique_ptr<StreamUpload> stream;
  bool may_stream = false;  // new or O_TRUNC, nothing out of order yet
};

struct Filesystem::DirHandle {
  Inode dir;
  std::shared_ptr<const DirListing> listing;  // a cached listing, or
  std::unique_ptr<ListingStream> stream;      // one still arriving
  std::mutex mu;                              // guards the fields below
  std::vector<std::string> local;             // client-side dirs to add after the stream
  std::vector<DirEntry> extra;                // those of them the stream did not list
  bool finished = false;                      // the stream ended and was cached
};

}  // namespace aisle::fs
