// SequentialStream: the forward reads of one open file, served from one open range GET, so a
// sequential reader costs one request and one receive per byte. The kernel's readahead sends
// several requests at once and the daemon's threads take them in any order: a read that
// arrives ahead of the stream (within `reach`) first receives the bytes before it into stashed
// buffers, which the earlier reads take when they come. A read at the stream receives straight
// into the caller's buffer. At most `reach` bytes are stashed. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "common/result.h"
#include "fs/client/cluster_client.h"
#include "fs/core/buffer_pool.h"

namespace aisle::fs {

class SequentialStream {
 public:
  SequentialStream(ClusterClient& client, std::shared_ptr<BufferPool> buffers, ObjectRef ref,
                   uint64_t reach)
      : client_(client), buffers_(std::move(buffers)), ref_(std::move(ref)), reach_(reach) {}

  // Serves [offset, offset+n) when it is stashed or at or ahead of the stream (within reach):
  // *served, and the count, which is short only where the object ended. With `view`/`hold`
  // given, a read inside one stashed buffer is not copied. Not served: the read is not this
  // stream's (none open, behind it, too far ahead). An error breaks the stream (dropped).
  Result<size_t> Read(uint64_t offset, size_t n, char* out, const char** view,
                      std::shared_ptr<const void>* hold, bool* served);

  // A read exactly at the stream's position, moved into the pipe `pipe_wr` without a copy:
  // *served when it was, short where the object ended or, with *pipe_full, where the pipe ran
  // out of room (the stream is then at the first byte not moved). Not served: no stream there,
  // or it cannot splice. An error breaks the stream and may leave bytes in the pipe.
  Result<size_t> SpliceRead(uint64_t offset, size_t n, int pipe_wr, bool* served, bool* pipe_full);

  // Starts over with a range GET of [offset, end), dropping the old stream and the stash.
  Status Restart(uint64_t offset, uint64_t end);

  // An open stream has just passed `offset` (by at most `reach`): a late read of the
  // kernel's readahead that the stash does not hold, not a seek back.
  bool JustBehind(uint64_t offset);

  // Drops the open stream when no read has used it since `before`: the node's worker that
  // writes it is then freed, instead of waiting on a reader that paused. False when there is
  // none or a read is using it.
  bool CloseIfIdle(std::chrono::steady_clock::time_point before);

  uint64_t opened();   // range GETs opened so far
  uint64_t stashed();  // bytes stashed now

 private:
  struct Stashed {
    uint64_t len;
    std::shared_ptr<BufferPool::Buffer> buf;
    uint64_t used = 0;  // bytes reads took from it (reads may take its parts in any order)
  };
  // Receives [pos_, upto) into stashed buffers. REQUIRES: mu_
  Status StashUpTo(uint64_t upto);
  // Drops stashed bytes far behind the stream: their reads will not come. REQUIRES: mu_
  void PruneStash();
  void Drop();  // REQUIRES: mu_

  ClusterClient& client_;
  const std::shared_ptr<BufferPool> buffers_;
  const ObjectRef ref_;
  const uint64_t reach_;

  std::mutex mu_;
  std::unique_ptr<RangeStream> stream_;  // GUARDED_BY(mu_)
  uint64_t pos_ = 0;                     // GUARDED_BY(mu_): offset of the stream's next byte
  uint64_t end_ = 0;                     // GUARDED_BY(mu_): end of its range
  std::map<uint64_t, Stashed> stash_;    // GUARDED_BY(mu_): by offset, disjoint, below pos_
  uint64_t stash_bytes_ = 0;             // GUARDED_BY(mu_)
  uint64_t opened_ = 0;                  // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_use_;  // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
