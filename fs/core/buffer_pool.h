// BufferPool: recycled read buffers for the data path. Fresh multi-MiB allocations cost a
// page fault (and a zeroed page) per 4 KiB on first touch; streaming reuses a few buffers
// instead. Capacities are powers of two; at most `max_idle_bytes` are kept idle.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace aisle::fs {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  // A buffer of at least the asked size; goes back to the pool when the last owner drops it.
  class Buffer {
   public:
    char* data() { return data_.get(); }
    const char* data() const { return data_.get(); }
    size_t capacity() const { return capacity_; }
    ~Buffer();

   private:
    friend class BufferPool;
    Buffer(std::shared_ptr<BufferPool> pool, std::unique_ptr<char[]> data, size_t capacity)
        : pool_(std::move(pool)), data_(std::move(data)), capacity_(capacity) {}
    std::shared_ptr<BufferPool> pool_;
    std::unique_ptr<char[]> data_;
    size_t capacity_;
  };

  static std::shared_ptr<BufferPool> Create(size_t max_idle_bytes) {
    return std::shared_ptr<BufferPool>(new BufferPool(max_idle_bytes));
  }
  std::unique_ptr<Buffer> Get(size_t size);

 private:
  explicit BufferPool(size_t max_idle_bytes) : max_idle_bytes_(max_idle_bytes) {}
  void Put(std::unique_ptr<char[]> data, size_t capacity);

  const size_t max_idle_bytes_;
  std::mutex mu_;
  std::vector<std::pair<size_t, std::unique_ptr<char[]>>> idle_;  // GUARDED_BY(mu_)
  size_t idle_bytes_ = 0;                                         // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
