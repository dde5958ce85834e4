#include "server/storage/read_guard.h"

#include <xxhash.h>

#include <string>

namespace aisle::storage {

uint64_t GuardTable::Key(std::string_view bucket, std::string_view name) {
  std::string k;
  k.reserve(bucket.size() + 1 + name.size());
  k.append(bucket).push_back('\0');
  k.append(name);
  return XXH3_64bits(k.data(), k.size());
}

void GuardTable::LockShared(uint64_t key) {
  Stripe& s = StripeOf(key);
  std::unique_lock<std::mutex> l(s.mu);
  s.cv.wait(l, [&] {
    auto it = s.holders.find(key);
    return it == s.holders.end() || it->second >= 0;
  });
  ++s.holders[key];
}

void GuardTable::UnlockShared(uint64_t key) {
  Stripe& s = StripeOf(key);
  std::lock_guard<std::mutex> l(s.mu);
  auto it = s.holders.find(key);
  if (it != s.holders.end() && it->second > 0 && --it->second == 0) s.holders.erase(it);
}

bool GuardTable::TryLock(uint64_t key) {
  Stripe& s = StripeOf(key);
  std::lock_guard<std::mutex> l(s.mu);
  auto [it, inserted] = s.holders.try_emplace(key, -1);
  return inserted;
}

void GuardTable::Unlock(uint64_t key) {
  Stripe& s = StripeOf(key);
  {
    std::lock_guard<std::mutex> l(s.mu);
    s.holders.erase(key);
  }
  s.cv.notify_all();
}

ReadGuard::ReadGuard(std::shared_ptr<GuardTable> table, uint64_t key)
    : table_(std::move(table)), key_(key) {
  table_->LockShared(key_);
}

void ReadGuard::Release() {
  std::shared_ptr<GuardTable> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    t = std::move(table_);
  }
  if (t) t->UnlockShared(key_);
}

}  // namespace aisle::storage
