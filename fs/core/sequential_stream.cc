#include "fs/core/sequential_stream.h"

#include <algorithm>
#include <cstring>

namespace aisle::fs {

namespace {
constexpr uint64_t kStashChunk = 1 << 20;  // the kernel's usual request size
}  // namespace

Status SequentialStream::Restart(uint64_t offset, uint64_t end) {
  std::lock_guard lk(mu_);
  Drop();
  if (offset >= end) return Status::OK();
  AISLE_ASSIGN_OR_RETURN(stream_, client_.OpenRange(ref_, offset, end - offset));
  pos_ = offset;
  end_ = end;
  ++opened_;
  last_use_ = std::chrono::steady_clock::now();
  return Status::OK();
}

bool SequentialStream::CloseIfIdle(std::chrono::steady_clock::time_point before) {
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock() || stream_ == nullptr || last_use_ >= before) return false;
  Drop();
  return true;
}

void SequentialStream::Drop() {
  stream_.reset();
  stash_.clear();
  stash_bytes_ = 0;
}

bool SequentialStream::JustBehind(uint64_t offset) {
  std::lock_guard lk(mu_);
  return stream_ != nullptr && offset < pos_ && pos_ - offset <= reach_;
}

uint64_t SequentialStream::opened() {
  std::lock_guard lk(mu_);
  return opened_;
}

uint64_t SequentialStream::stashed() {
  std::lock_guard lk(mu_);
  return stash_bytes_;
}

Status SequentialStream::StashUpTo(uint64_t upto) {
  while (pos_ < upto) {
    uint64_t k = std::min(upto - pos_, kStashChunk);
    std::shared_ptr<BufferPool::Buffer> buf = buffers_->Get(k);
    AISLE_ASSIGN_OR_RETURN(uint64_t got, stream_->Read(buf->data(), k));
    if (got > 0) {
      stash_[pos_] = Stashed{got, std::move(buf), 0};
      stash_bytes_ += got;
      pos_ += got;
    }
    if (got < k) {
      end_ = pos_;  // the object ended earlier than listed
      break;
    }
  }
  return Status::OK();
}

Result<size_t> SequentialStream::SpliceRead(uint64_t offset, size_t n, int pipe_wr, bool* served,
                                            bool* pipe_full) {
  *served = false;
  *pipe_full = false;
  std::lock_guard lk(mu_);
  if (stream_ == nullptr || offset != pos_) return size_t{0};
  if (offset >= end_) {
    *served = true;
    return size_t{0};
  }
  uint64_t want = std::min<uint64_t>(n, end_ - offset);
  auto r = stream_->SpliceTo(pipe_wr, want, pipe_full);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kUnsupported) return size_t{0};
    Drop();
    return r.status();
  }
  pos_ += *r;
  if (*r < want && !*pipe_full) end_ = pos_;  // the object ended earlier than listed
  PruneStash();
  last_use_ = std::chrono::steady_clock::now();
  *served = true;
  return static_cast<size_t>(*r);
}

void SequentialStream::PruneStash() {
  while (!stash_.empty() && stash_.begin()->first + stash_.begin()->second.len + reach_ < pos_) {
    stash_bytes_ -= stash_.begin()->second.len;
    stash_.erase(stash_.begin());
  }
}

Result<size_t> SequentialStream::Read(uint64_t offset, size_t n, char* out, const char** view,
                                      std::shared_ptr<const void>* hold, bool* served) {
  *served = false;
  std::lock_guard lk(mu_);
  if (stream_ == nullptr) return size_t{0};
  const uint64_t end = std::min<uint64_t>(offset + n, end_);
  // The stashed buffer holding `offset`, if any.
  auto holding = [&](uint64_t at) {
    auto it = stash_.upper_bound(at);
    if (it == stash_.begin()) return stash_.end();
    --it;
    return at < it->first + it->second.len ? it : stash_.end();
  };
  auto take = [&](std::map<uint64_t, Stashed>::iterator it, uint64_t bytes) {
    it->second.used += bytes;
    if (it->second.used >= it->second.len) {  // every byte was read: no one needs it any more
      stash_bytes_ -= it->second.len;
      stash_.erase(it);
    }
  };
  // Plan first, so a read that cannot be served whole leaves the stash untouched.
  uint64_t stream_from = end;  // where the stream takes over from the stash
  for (uint64_t pos = offset; pos < end;) {
    auto it = holding(pos);
    if (it == stash_.end()) {
      stream_from = pos;
      break;
    }
    pos = it->first + it->second.len;
  }
  if (stream_from < end && (stream_from < pos_ || stream_from - pos_ > reach_ ||
                            stash_bytes_ + (stream_from - pos_) > reach_)) {
    return size_t{0};  // behind the stream and not stashed, or too far ahead
  }
  if (offset >= end) {
    *served = true;  // at or past the end of the range
    return size_t{0};
  }
  if (view != nullptr && stream_from == end) {
    auto it = holding(offset);
    if (offset + n <= it->first + it->second.len) {  // inside one stashed buffer: no copy
      *view = it->second.buf->data() + (offset - it->first);
      *hold = it->second.buf;
      take(it, end - offset);
      last_use_ = std::chrono::steady_clock::now();
      *served = true;
      return static_cast<size_t>(end - offset);
    }
  }
  uint64_t pos = offset;
  while (pos < stream_from) {
    auto it = holding(pos);
    uint64_t k = std::min(end, it->first + it->second.len) - pos;
    std::memcpy(out + (pos - offset), it->second.buf->data() + (pos - it->first), k);
    pos += k;
    take(it, k);
  }
  if (pos < end) {
    Status s = StashUpTo(pos);  // the bytes of earlier reads still on their way
    if (s.ok() && pos_ == pos) {
      auto r = stream_->Read(out + (pos - offset), end - pos);
      if (r.ok()) {
        pos_ += *r;
        if (*r < end - pos) end_ = pos_;  // the object ended earlier than listed
        pos += *r;
      } else {
        s = r.status();
      }
    }
    if (!s.ok()) {
      Drop();
      return s;
    }
  }
  PruneStash();  // stashed bytes far behind the stream belong to reads that will not come
  last_use_ = std::chrono::steady_clock::now();
  *served = true;
  return static_cast<size_t>(pos - offset);
}

}  // namespace aisle::fs
