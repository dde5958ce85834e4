#include "fs/core/buffer_pool.h"

#include <bit>

namespace aisle::fs {

BufferPool::Buffer::~Buffer() {
  if (pool_ && data_) pool_->Put(std::move(data_), capacity_);
}

std::unique_ptr<BufferPool::Buffer> BufferPool::Get(size_t size) {
  size_t cap = std::bit_ceil(std::max<size_t>(size, 4096));
  {
    std::lock_guard lk(mu_);
    for (size_t i = idle_.size(); i-- > 0;) {
      if (idle_[i].first == cap) {
        auto data = std::move(idle_[i].second);
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
        idle_bytes_ -= cap;
        return std::unique_ptr<Buffer>(new Buffer(shared_from_this(), std::move(data), cap));
      }
    }
  }
  // new char[] leaves the bytes uninitialised: no zeroing pass before the receive fills them.
  return std::unique_ptr<Buffer>(
      new Buffer(shared_from_this(), std::unique_ptr<char[]>(new char[cap]), cap));
}

void BufferPool::Put(std::unique_ptr<char[]> data, size_t capacity) {
  std::lock_guard lk(mu_);
  if (idle_bytes_ + capacity > max_idle_bytes_) return;  // freed
  idle_bytes_ += capacity;
  idle_.emplace_back(capacity, std::move(data));
}

}  // namespace aisle::fs
