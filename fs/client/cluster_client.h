// ClusterClient: everything the filesystem needs from the cluster, with typed results.
// fs/core sees only this interface, so its semantics are unit-tested against a mock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/body.h"
#include "common/result.h"
#include "common/status.h"

namespace aisle::fs {

// One listed object (or, with `archive`, one shard member named "<shard>/<member>").
struct ObjectEntry {
  std::string name;
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // from the listing's atime; 0 when unknown
  std::string version;   // changes on every overwrite; drives keep_cache
};

struct ListRequest {
  std::string bucket;
  std::string prefix;
  std::string token;        // continuation token from the previous page ("" = first page)
  std::string start_after;  // skip names <= this (used to jump over whole subtrees)
  uint32_t page_size = 10000;
  bool archive = false;  // list shard members too (LsArchDir, flags=8)
};

struct ListPage {
  std::vector<ObjectEntry> entries;  // sorted by name (bytewise)
  std::string next_token;            // empty on the last page
};

struct ObjectHead {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string version;
};

// What a read addresses: an object, one member of a shard, or either through a transform.
struct ObjectRef {
  std::string bucket;
  std::string object;
  std::string archpath;  // non-empty: a shard member
  std::string etl_name;  // non-empty: read through this transform
};

// Receives body bytes in order; a non-OK status aborts the transfer.
using DataSink = std::function<Status(std::string_view)>;

// One entry of a GetBatch request: an object, or a member of the shard `object`.
struct BatchItem {
  std::string object;
  std::string archpath;
};

// The member name a GetBatch archive gives an entry that was missing (AIStore's MossMissingDir
// prefix; the member is empty).
inline constexpr std::string_view kBatchMissingPrefix = "__404__/";

// A PUT body: exactly one of `data`, `file_path` (re-sendable on retries) or `reader`.
struct PutBody {
  std::string_view data;
  std::string file_path;
  BodyReader* reader = nullptr;
};

// The bytes of one ranged read, delivered in order to one sequential reader (not thread-safe).
class RangeStream {
 public:
  virtual ~RangeStream() = default;
  // Reads the next n bytes into `dest`; fewer only at the end of the range or the object. An
  // error spends the stream.
  virtual Result<uint64_t> Read(char* dest, uint64_t n) = 0;
  // Like Read, but moves the bytes into the pipe `pipe_wr` without copying them through
  // memory (splice). Fewer than n also when the pipe ran out of room (*pipe_full; the stream
  // stays good and the caller takes the rest with Read). kUnsupported where the stream or
  // the kernel cannot (nothing moved, the stream stays good).
  virtual Result<uint64_t> SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full) {
    (void)pipe_wr, (void)n, (void)pipe_full;
    return Status::Unsupported("this stream cannot splice");
  }
};

// An object opened on a target on this host (local reads, common/local_read_protocol.h): its
// bytes as of the open, read from the target's file, no request per read. Thread-safe.
class LocalObject {
 public:
  virtual ~LocalObject() = default;
  // Reads up to n bytes at `offset` into `dest`; fewer only at the end of the object.
  virtual Result<uint64_t> ReadAt(uint64_t offset, uint64_t n, char* dest) = 0;
  virtual uint64_t size() const = 0;
  virtual const std::string& version() const = 0;
  // Where bytes [offset, offset+n) (cut at the end of the object) lie in an open file, so
  // they can be spliced rather than copied: fd < 0 when the object has no such file.
  struct FileSpan {
    int fd = -1;
    uint64_t pos = 0;     // offset in that file
    uint64_t length = 0;  // 0 at or past the end of the object
  };
  virtual FileSpan Span(uint64_t offset, uint64_t n) const {
    (void)offset, (void)n;
    return {};
  }
};

// All methods are thread-safe and bounded in time: a stalled or unreachable cluster yields
// kTimeout/kUnavailable, never a hang. kNotFound for a missing bucket or object.
class ClusterClient {
 public:
  virtual ~ClusterClient() = default;

  virtual Result<std::vector<std::string>> ListBuckets() = 0;
  // Names of the registered transforms (the directories of /.etl).
  virtual Result<std::vector<std::string>> ListEtls() = 0;
  virtual Status CreateBucket(const std::string& bucket) = 0;
  virtual Result<ListPage> List(const ListRequest& req) = 0;
  virtual Result<ObjectHead> Head(const std::string& bucket, const std::string& object) = 0;
  // Streams bytes [offset, offset+length) into `sink`; fewer at the end of the object.
  // Returns the number of bytes delivered (0 at or past the end).
  virtual Result<uint64_t> GetRange(const ObjectRef& ref, uint64_t offset, uint64_t length,
                                    const DataSink& sink) = 0;
  // Reads bytes [offset, offset+length) into `dest` (room for `length` bytes); fewer at the
  // end of the object. Clients that can receive straight into `dest` override this; the
  // default goes through GetRange and copies.
  virtual Result<uint64_t> ReadRange(const ObjectRef& ref, uint64_t offset, uint64_t length,
                                     char* dest) {
    uint64_t got = 0;
    auto r = GetRange(ref, offset, length, [&](std::string_view chunk) -> Status {
      size_t k = static_cast<size_t>(std::min<uint64_t>(chunk.size(), length - got));
      std::memcpy(dest + got, chunk.data(), k);
      got += k;
      return Status::OK();
    });
    if (!r.ok()) return r.status();
    return got;
  }
  // Bytes [offset, offset+length) as a stream: one transfer kept open, so a sequential reader
  // costs one request, not one per read. kUnsupported where the client cannot (the default,
  // and e.g. replies that need libcurl): callers then read in ranges (ReadRange).
  virtual Result<std::unique_ptr<RangeStream>> OpenRange(const ObjectRef& ref, uint64_t offset,
                                                         uint64_t length);
  // The object opened for local reads when its owning target runs on this host and hands
  // out files; kUnsupported otherwise (the default). Any error means: read over the network.
  virtual Result<std::unique_ptr<LocalObject>> OpenLocal(const std::string& bucket,
                                                         const std::string& object);
  // GetBatch (/v1/ml/moss): `items` of `bucket` as one streamed .tar into `sink`, in request
  // order, member names without the bucket; a missing entry is an empty member named
  // kBatchMissingPrefix + its name, the others still come. kUnsupported by default.
  virtual Status GetBatch(const std::string& bucket, const std::vector<BatchItem>& items,
                          const DataSink& sink);
  // Which target owns `object` ("" when unknown), so batches can go one per owner.
  virtual std::string OwnerOf(const std::string& bucket, const std::string& object) {
    (void)bucket, (void)object;
    return "";
  }
  // Stores the object durably (the server acknowledges after fsync); returns its new head.
  virtual Result<ObjectHead> Put(const std::string& bucket, const std::string& object,
                                 const PutBody& body) = 0;
  // Appends one member to a shard object (PUT ?archpath=MEMBER); the server rewrites or
  // extends the archive and refuses an existing member name.
  virtual Result<ObjectHead> AppendMember(const std::string& bucket, const std::string& shard,
                                          const std::string& member, const PutBody& body) = 0;
  virtual Status Delete(const std::string& bucket, const std::string& object) = 0;
  // Server-side rename within one bucket; replaces an existing `to`.
  virtual Status Rename(const std::string& bucket, const std::string& from,
                        const std::string& to) = 0;
};

inline Result<std::unique_ptr<RangeStream>> ClusterClient::OpenRange(const ObjectRef&, uint64_t,
                                                                     uint64_t) {
  return Status::Unsupported("this client keeps no transfer open");
}

inline Status ClusterClient::GetBatch(const std::string&, const std::vector<BatchItem>&,
                                      const DataSink&) {
  return Status::Unsupported("this client has no GetBatch");
}

inline Result<std::unique_ptr<LocalObject>> ClusterClient::OpenLocal(const std::string&,
                                                                     const std::string&) {
  return Status::Unsupported("this client has no local reads");
}

}  // namespace aisle::fs
