// TaskPool: a fixed set of threads running queued tasks (the parallel range GETs).
// Tasks must not throw; the pool catches anything that escapes so no thread dies.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aisle::fs {

class TaskPool {
 public:
  explicit TaskPool(int threads);
  ~TaskPool();  // runs the queued tasks, then joins
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void Submit(std::function<void()> task);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace aisle::fs
