// Small helpers shared by the process-based transformers: message prefixes, durations,
// the concurrency bound and file writes into the ETL's work dir.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "etl/etl_spec.h"

namespace aisle::etl {

// "etl NAME": the context ETL errors start with.
std::string EtlName(const EtlSpec& spec);
// "etl NAME: "
std::string EtlPrefix(const EtlSpec& spec);
// 10000 -> "10s", 1500 -> "1.5s", 250 -> "250ms".
std::string FormatMillis(int64_t ms);
// spec.concurrency, or the number of CPUs when 0.
int EffectiveConcurrency(const EtlSpec& spec);
// Debian's /usr/bin/python3 when present, else "python3" from PATH.
std::string PythonBinary();
// Writes `data` to path via a temporary file and rename.
Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);

// A counting semaphore sized at run time.
class Slots {
 public:
  explicit Slots(int n) : free_(n) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

class SlotGuard {
 public:
  explicit SlotGuard(Slots& s) : s_(s) { s_.Acquire(); }
  ~SlotGuard() { s_.Release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  Slots& s_;
};

}  // namespace aisle::etl
