#include "fs/core/prefetcher.h"

#include <algorithm>
#include <cstring>
#include <exception>

namespace aisle::fs {

namespace {

// Parts up to this size are received in place into pooled buffers.
constexpr uint64_t kMaxPooledPart = 64ull << 20;

// Fills `st` with bytes [off, off+len) of `ref`: in place when the object's size is known,
// streamed otherwise. Returns the status of the transfer.
Status FetchPart(ClusterClient& client, BufferPool& buffers, const ObjectRef& ref, uint64_t off,
                 uint64_t len, bool size_known, const std::atomic<bool>& cancelled,
                 std::unique_ptr<BufferPool::Buffer>* buf, std::string* streamed, uint64_t* got) {
  *got = 0;
  if (size_known && len <= kMaxPooledPart) {
    *buf = buffers.Get(len);
    auto r = client.ReadRange(ref, off, len, (*buf)->data());
    if (!r.ok()) return r.status();
    *got = *r;
    return Status::OK();
  }
  auto r = client.GetRange(ref, off, len, [&](std::string_view chunk) -> Status {
    if (cancelled) return Status::Internal("read cancelled");  // not retried
    streamed->append(chunk);
    return Status::OK();
  });
  if (!r.ok()) return r.status();
  *got = streamed->size();
  return Status::OK();
}

}  // namespace

Prefetcher::Prefetcher(ClusterClient& client, TaskPool& pool, std::shared_ptr<BufferPool> buffers,
                       ObjectRef ref, uint64_t size, PrefetchOptions opts)
    : client_(client),
      pool_(pool),
      buffers_(std::move(buffers)),
      ref_(std::move(ref)),
      size_(size),
      opts_(opts),
      stream_(client, buffers_, ref_, opts.slack),
      window_(opts.min_window) {}

Prefetcher::~Prefetcher() {
  std::lock_guard lk(mu_);
  DropAll();
}

void Prefetcher::DropAll() {
  for (auto& p : parts_) p.st->cancelled = true;
  parts_.clear();
}

void Prefetcher::Schedule(uint64_t off, uint64_t len) {
  auto st = std::make_shared<PartState>();
  parts_.push_back({off, len, st, false});
  sched_end_ = off + len;
  ++requests_;
  ClusterClient* client = &client_;
  ObjectRef ref = ref_;
  std::shared_ptr<BufferPool> buffers = buffers_;
  bool size_known = size_ != UINT64_MAX;
  pool_.Submit([client, ref, off, len, st, buffers, size_known] {
    Status status;
    std::unique_ptr<BufferPool::Buffer> buf;
    std::string streamed;
    uint64_t got = 0;
    bool skipped = st->cancelled;
    try {
      if (!skipped) {
        status = FetchPart(*client, *buffers, ref, off, len, size_known, st->cancelled, &buf,
                           &streamed, &got);
      }
    } catch (const std::exception& e) {
      // The reader waits for `done`: whatever happens, the part must end.
      status = Status::Internal(std::string("readahead part: ") + e.what());
    } catch (...) {
      status = Status::Internal("readahead part: unknown exception");
    }
    if (!status.ok() && st->cancelled) skipped = true;  // a streamed part stops when dropped
    std::lock_guard lk(st->mu);
    st->status = std::move(status);
    st->buf = std::move(buf);
    st->streamed = std::move(streamed);
    st->size = got;
    st->skipped = skipped;
    st->done = true;
    st->cv.notify_all();
  });
}

Result<size_t> Prefetcher::DirectRead(uint64_t offset, uint64_t len, char* out) {
  AISLE_ASSIGN_OR_RETURN(uint64_t got, client_.ReadRange(ref_, offset, len, out));
  return static_cast<size_t>(got);
}

Result<size_t> Prefetcher::StreamRead(uint64_t offset, size_t n, char* out, const char** view,
                                      std::shared_ptr<const void>* hold, bool* served, bool* late) {
  *served = false;
  *late = false;
  uint64_t size;
  {
    std::lock_guard lk(mu_);
    if (offset >= size_ || size_ == UINT64_MAX || n == 0 || stream_unsupported_) return size_t{0};
    size = size_;
  }
  auto r = stream_.Read(offset, n, out, view, hold, served);
  if (!r.ok()) return size_t{0};  // e.g. the node restarted: the window's GETs retry this read
  if (!*served) {
    // Just behind the stream: a late read of the kernel's readahead takes only its bytes (a
    // window there would refetch what the stream has), unless it goes on from the previous
    // such read: a reader that moved back and reads on gets a stream of its own.
    bool behind = stream_.JustBehind(offset);
    {
      std::lock_guard lk(mu_);
      bool reads_on = behind && offset == behind_end_;
      behind_end_ = behind ? offset + n : UINT64_MAX;
      if (behind && !reads_on) {
        *late = true;
        return size_t{0};
      }
      if (!reads_on && (offset != next_ || offset == 0)) return size_t{0};
      DropAll();  // a new stream takes over from the window's parts
    }
    // The rest of the object: the reader has read on sequentially and is likely to go on.
    Status opened = stream_.Restart(offset, size);
    if (opened.code() == StatusCode::kUnsupported) {  // e.g. https: the window's ranges then
      std::lock_guard lk(mu_);
      stream_unsupported_ = true;
      return size_t{0};
    }
    AISLE_RETURN_IF_ERROR(opened);
    r = stream_.Read(offset, n, out, view, hold, served);
    if (!r.ok() || !*served) return size_t{0};
  }
  std::lock_guard lk(mu_);
  next_ = std::max(next_, offset + *r);
  if (*r < std::min<uint64_t>(n, size - offset)) {
    size_ = std::min(size_, offset + *r);  // the object ended earlier than listed
  }
  return *r;
}

Result<size_t> Prefetcher::SpliceRead(uint64_t offset, size_t n, int pipe_wr, bool* served,
                                      bool* pipe_full) {
  *served = false;
  *pipe_full = false;
  uint64_t size;
  {
    std::lock_guard lk(mu_);
    if (!opts_.stream || stream_unsupported_ || offset >= size_ || size_ == UINT64_MAX)
      return size_t{0};
    size = size_;
  }
  AISLE_ASSIGN_OR_RETURN(size_t k, stream_.SpliceRead(offset, n, pipe_wr, served, pipe_full));
  if (!*served) return size_t{0};
  std::lock_guard lk(mu_);
  next_ = std::max(next_, offset + k);
  if (!*pipe_full && k < std::min<uint64_t>(n, size - offset)) {
    size_ = std::min(size_, offset + k);  // the object ended earlier than listed
  }
  return k;
}

Result<size_t> Prefetcher::Read(uint64_t offset, size_t n, char* out, const char** view,
                                std::shared_ptr<const void>* hold) {
  if (opts_.stream) {
    bool served = false, late = false;
    AISLE_ASSIGN_OR_RETURN(size_t k, StreamRead(offset, n, out, view, hold, &served, &late));
    if (served) return k;
    if (late) {
      uint64_t size;
      {
        std::lock_guard lk(mu_);
        size = size_;
      }
      return offset >= size ? size_t{0}
                            : DirectRead(offset, std::min<uint64_t>(n, size - offset), out);
    }
  }
  // Plan under the lock: which parts cover the read.
  std::vector<Part> plan;
  uint64_t end;
  {
    std::unique_lock lk(mu_);
    if (offset == 0 && next_ == 0 && parts_.empty() && size_ <= opts_.min_window && n > 0)
      return ReadSmallWhole(lk, n, out, view, hold);
    if (offset >= size_ || n == 0) return size_t{0};
    end = std::min<uint64_t>(offset + n, size_);
    plan = PlanRead(offset, end);
  }
  // Copy without the lock, so parallel kernel reads wait only for their own parts.
  return CopyFromParts(plan, offset, end, out, view, hold);
}

// The latency of one GET is what small-file workloads pay: no pool hop.
Result<size_t> Prefetcher::ReadSmallWhole(std::unique_lock<std::mutex>& lk, size_t n, char* out,
                                          const char** view, std::shared_ptr<const void>* hold) {
  lk.unlock();
  auto st = std::make_shared<PartState>();
  AISLE_RETURN_IF_ERROR(FetchPart(client_, *buffers_, ref_, 0, size_, true, st->cancelled, &st->buf,
                                  &st->streamed, &st->size));
  st->done = true;
  lk.lock();
  ++requests_;
  if (parts_.empty()) {
    parts_.push_back({0, size_, st, false});
    sched_end_ = size_;
  }
  next_ = std::min<uint64_t>(n, st->size);
  size_t k = std::min<uint64_t>(n, st->size);
  if (view != nullptr) {
    *view = st->data();
    *hold = st;
  } else {
    std::memcpy(out, st->data(), k);
  }
  return k;
}

// The kernel issues readahead requests in parallel and they arrive out of order, so
// "sequential" means "near the stream".
std::vector<Prefetcher::Part> Prefetcher::PlanRead(uint64_t offset, uint64_t end) {
  uint64_t slack = std::max(window_, opts_.slack);
  bool in_window = !parts_.empty() && offset >= parts_.front().off && offset < sched_end_;
  bool near = next_ != UINT64_MAX && offset + slack >= next_ && offset <= next_ + slack;
  bool sequential = in_window || near || (next_ == 0 && offset == 0);
  if (!sequential) {
    DropAll();
    window_ = opts_.min_window;
  }
  // Each part the reader has passed doubles the window: the stream is sequential.
  for (Part& p : parts_) {
    if (p.off + p.len > offset) break;
    if (!p.passed) {
      p.passed = true;
      window_ = std::min(window_ * 2, opts_.max_window);
    }
  }
  // Parts far behind are dropped (late out-of-order requests may still want the slack).
  while (!parts_.empty() && parts_.front().off + parts_.front().len + opts_.slack <= offset) {
    parts_.pop_front();
  }
  if (parts_.empty() || offset > sched_end_ + slack) {
    DropAll();
    sched_end_ = offset;
  }
  uint64_t target = sequential ? offset + std::max<uint64_t>(window_, end - offset)
                               : offset + std::max<uint64_t>(opts_.random_read, end - offset);
  target = std::min(target, size_);
  while (sched_end_ < target) {
    uint64_t part =
        sequential ? std::clamp(window_ / 4, opts_.min_part, opts_.max_part) : target - sched_end_;
    if (size_ != UINT64_MAX) part = std::min(part, size_ - sched_end_);
    Schedule(sched_end_, part);
  }
  std::vector<Part> plan;
  for (const Part& p : parts_) {
    if (p.off + p.len > offset && p.off < end) plan.push_back(p);
  }
  next_ = sequential && next_ != UINT64_MAX ? std::max(next_, end) : end;
  return plan;
}

Result<size_t> Prefetcher::CopyFromParts(const std::vector<Part>& plan, uint64_t offset,
                                         uint64_t end, char* out, const char** view,
                                         std::shared_ptr<const void>* hold) {
  uint64_t pos = offset;
  bool skipped = false;
  for (const Part& p : plan) {
    if (pos >= end) break;
    if (pos < p.off) {
      // Behind the window (an old readahead request arriving late): fetch it directly.
      AISLE_ASSIGN_OR_RETURN(size_t k, DirectRead(pos, p.off - pos, out + (pos - offset)));
      pos += k;
      if (pos < p.off) break;
    }
    PartState& st = *p.st;
    std::unique_lock plk(st.mu);
    st.cv.wait(plk, [&] { return st.done; });
    if (st.skipped) {  // another read dropped the window first: the rest is fetched below
      skipped = true;
      break;
    }
    if (!st.status.ok()) {
      Status s = st.status;
      plk.unlock();
      std::lock_guard lk(mu_);
      DropAll();
      next_ = UINT64_MAX;
      return s;
    }
    uint64_t in_part = pos - p.off;
    if (in_part >= st.size) break;  // the object ended earlier than listed
    uint64_t k = std::min<uint64_t>(end - pos, st.size - in_part);
    if (view != nullptr && pos == offset && k == end - offset) {
      *view = st.data() + in_part;  // the whole read is inside this part: no copy
      *hold = p.st;
      return static_cast<size_t>(k);
    }
    std::memcpy(out + (pos - offset), st.data() + in_part, k);
    pos += k;
    if (st.size < p.len) {
      std::lock_guard lk(mu_);
      size_ = std::min(size_, p.off + st.size);
      break;
    }
  }
  if (pos < end && (plan.empty() || pos < plan.front().off || skipped)) {
    AISLE_ASSIGN_OR_RETURN(size_t k, DirectRead(pos, end - pos, out + (pos - offset)));
    pos += k;
  }
  return static_cast<size_t>(pos - offset);
}

}  // namespace aisle::fs
