// Prefetcher: reads of one open file. Sequential reads (each starting where the previous
// ended) are served from a readahead window of parallel range GETs that doubles, from 1 MiB
// up to `max_window`, each time a part is consumed; a non-sequential read drops the window
// and fetches one bounded range (`random_read` bytes). Memory is bounded by the window.
// With `stream`, a read that continues the previous one instead opens one range GET to the
// end of the object and later forward reads are served from it (SequentialStream): one
// request and one receive per byte; the socket's receive buffer is then the readahead.
// Thread-safe (reads of one handle are serialised).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "fs/client/cluster_client.h"
#include "fs/core/buffer_pool.h"
#include "fs/core/sequential_stream.h"
#include "fs/core/task_pool.h"

namespace aisle::fs {

struct PrefetchOptions {
  uint64_t min_window = 1 << 20;
  uint64_t max_window = 64ull << 20;
  uint64_t random_read = 256 << 10;
  uint64_t max_part = 8 << 20;
  uint64_t min_part = 256 << 10;
  // How far out of order (behind or ahead of the stream) a read may be and still count as
  // sequential: the kernel's own readahead (up to 8 MiB) arrives in parallel.
  uint64_t slack = 16 << 20;
  bool stream = false;
};

class Prefetcher {
 public:
  // `size` is the object size from the listing; UINT64_MAX when unknown (reads stop at the
  // first short part).
  Prefetcher(ClusterClient& client, TaskPool& pool, std::shared_ptr<BufferPool> buffers,
             ObjectRef ref, uint64_t size, PrefetchOptions opts);
  ~Prefetcher();  // cancels parts still in flight (they own their buffers)

  // Copies up to n bytes at `offset` into `out`; fewer only at the end of the object.
  // With `view`/`hold` given, a read that lies inside one readahead part is not copied:
  // *view points into the part and *hold keeps it alive until the caller has replied.
  Result<size_t> Read(uint64_t offset, size_t n, char* out, const char** view = nullptr,
                      std::shared_ptr<const void>* hold = nullptr);
  // A read at the open stream's position, moved into the pipe `pipe_wr` without a copy;
  // *served when it was; short with *pipe_full when the pipe ran out of room (Read takes the
  // rest). Not served: use Read. An error may leave bytes in the pipe.
  Result<size_t> SpliceRead(uint64_t offset, size_t n, int pipe_wr, bool* served, bool* pipe_full);

  uint64_t window() const { return window_; }
  uint64_t requests() const { return requests_; }
  // Closes the read stream if no read used it since `before` (see SequentialStream).
  bool CloseIdleStream(std::chrono::steady_clock::time_point before) {
    return stream_.CloseIfIdle(before);
  }
  uint64_t streams() { return stream_.opened(); }
  uint64_t stashed() { return stream_.stashed(); }

 private:
  struct PartState {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> cancelled{false};
    bool done = false;
    bool skipped = false;  // dropped before its fetch began: its readers fetch it themselves
    Status status;
    // The bytes: received in place into a pooled buffer when the size is known, else
    // streamed into `streamed` (a transform's output of unknown length).
    std::unique_ptr<BufferPool::Buffer> buf;
    std::string streamed;
    uint64_t size = 0;
    const char* data() const { return buf ? buf->data() : streamed.data(); }
  };
  struct Part {
    uint64_t off, len;
    std::shared_ptr<PartState> st;
    bool passed;  // the reader has moved past it (counted towards window growth)
  };
  void Schedule(uint64_t off, uint64_t len);  // REQUIRES: mu_
  void DropAll();                             // REQUIRES: mu_
  Result<size_t> DirectRead(uint64_t offset, uint64_t len, char* out);
  // Read's steps. A small object read from its start, fetched whole in the calling thread
  // (`lk` holds mu_; released during the fetch).
  Result<size_t> ReadSmallWhole(std::unique_lock<std::mutex>& lk, size_t n, char* out,
                                const char** view, std::shared_ptr<const void>* hold);
  // Adapts the window to [offset, end), schedules the parts it needs and returns those that
  // cover the read. REQUIRES: mu_
  std::vector<Part> PlanRead(uint64_t offset, uint64_t end);
  // Copies [offset, end) out of the planned parts (waiting for each), fetching directly what
  // they do not cover. Without mu_.
  Result<size_t> CopyFromParts(const std::vector<Part>& plan, uint64_t offset, uint64_t end,
                               char* out, const char** view, std::shared_ptr<const void>* hold);
  // Serves the read from the stream (*served), opening one when the read continues the
  // previous one; a stream that breaks mid-way is dropped and the read left to the window
  // (which retries). *late: a late read just behind the stream, to fetch on its own.
  Result<size_t> StreamRead(uint64_t offset, size_t n, char* out, const char** view,
                            std::shared_ptr<const void>* hold, bool* served, bool* late);

  ClusterClient& client_;
  TaskPool& pool_;
  const std::shared_ptr<BufferPool> buffers_;
  const ObjectRef ref_;
  uint64_t size_;
  const PrefetchOptions opts_;

  SequentialStream stream_;  // used with opts_.stream

  std::mutex mu_;
  std::deque<Part> parts_;  // contiguous, sorted; GUARDED_BY(mu_)
  uint64_t sched_end_ = 0;  // end of the last scheduled part
  uint64_t next_ = 0;       // where a sequential read would start
  uint64_t window_;
  uint64_t behind_end_ = UINT64_MAX;   // GUARDED_BY(mu_): end of the last read behind the stream
  bool stream_unsupported_ = false;    // GUARDED_BY(mu_): the client cannot stream this object
  std::atomic<uint64_t> requests_{0};  // range GETs issued (read by tests while reads run)
};

}  // namespace aisle::fs
