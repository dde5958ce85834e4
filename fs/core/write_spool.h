// WriteSpool: the bytes of a file open for writing, kept in an unlinked temp file (so
// memory stays bounded whatever the write pattern) until flush/fsync/release PUTs them.
// The PUT streams the spool from disk; it is re-sent on retries. Not thread-safe: the
// owning handle serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "fs/client/cluster_client.h"

namespace aisle::fs {

class WriteSpool {
 public:
  static Result<std::unique_ptr<WriteSpool>> Create(const std::string& dir);
  ~WriteSpool();

  // Copies the current object (bytes [0, size)) into the spool: opening without O_TRUNC.
  Status LoadFrom(ClusterClient& client, const ObjectRef& ref, uint64_t size);
  Status Write(uint64_t offset, const char* data, size_t n);
  Result<size_t> Read(uint64_t offset, size_t n, char* out) const;
  Status Truncate(uint64_t size);
  // PUTs the spool as bucket/object; clears `dirty` on success.
  Result<ObjectHead> Commit(ClusterClient& client, const std::string& bucket,
                            const std::string& object);

  // A re-sendable PUT body reading the spool's current bytes.
  PutBody Body() const;
  uint64_t size() const { return size_; }
  bool dirty() const { return dirty_; }
  void MarkDirty() { dirty_ = true; }
  void MarkClean() { dirty_ = false; }  // its bytes were stored another way (streamed PUT)

 private:
  explicit WriteSpool(int fd) : fd_(fd) {}
  int fd_;
  uint64_t size_ = 0;
  bool dirty_ = false;
};

}  // namespace aisle::fs
