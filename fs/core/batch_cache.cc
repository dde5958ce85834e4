#include "fs/core/batch_cache.h"

namespace aisle::fs {

BatchCache::BatchCache(uint64_t budget, Clock::duration ttl) : budget_(budget), ttl_(ttl) {}

void BatchCache::Drop(std::unordered_map<std::string, Entry>::iterator it) {
  used_ -= it->second.size;
  entries_.erase(it);
}

void BatchCache::Expire(Clock::time_point now) {
  while (!ready_order_.empty() && ready_order_.front().first + ttl_ <= now) {
    auto [at, key] = std::move(ready_order_.front());
    ready_order_.pop_front();
    auto it = entries_.find(key);
    // The same key may have been taken and fetched again since: only the one ready at `at`.
    if (it != entries_.end() && it->second.state == State::kReady && it->second.ready_at == at) {
      Drop(it);
      ++stats_.expired;
    }
  }
}

bool BatchCache::Reserve(const std::string& key, const std::string& version, uint64_t size) {
  std::lock_guard lk(mu_);
  Expire(Clock::now());
  if (entries_.count(key) || used_ + size > budget_) return false;
  Entry e;
  e.version = version;
  e.size = size;
  entries_.emplace(key, std::move(e));
  used_ += size;
  return true;
}

std::vector<std::string> BatchCache::MarkInFlight(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  std::lock_guard lk(mu_);
  for (const auto& k : keys) {
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.state != State::kQueued) continue;
    it->second.state = State::kInFlight;
    out.push_back(k);
  }
  return out;
}

void BatchCache::Fill(const std::string& key, std::string data) {
  {
    std::lock_guard lk(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.state == State::kReady) return;
    if (data.size() != it->second.size) {
      Drop(it);  // changed since it was listed: the reader reads it as usual
    } else {
      auto now = Clock::now();
      it->second.state = State::kReady;
      it->second.data = std::make_shared<const std::string>(std::move(data));
      it->second.ready_at = now;
      ready_order_.emplace_back(now, key);
    }
  }
  cv_.notify_all();
}

void BatchCache::Fail(const std::string& key) {
  {
    std::lock_guard lk(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.state == State::kReady) return;
    Drop(it);
  }
  cv_.notify_all();
}

std::shared_ptr<const std::string> BatchCache::Take(const std::string& key,
                                                    const std::string& version, uint64_t size,
                                                    Clock::duration wait) {
  std::unique_lock lk(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  if (it->second.state == State::kInFlight) {
    auto deadline = Clock::now() + wait;
    cv_.wait_until(lk, deadline, [&] {
      it = entries_.find(key);
      return it == entries_.end() || it->second.state != State::kInFlight;
    });
    if (it == entries_.end()) {
      ++stats_.misses;
      return nullptr;
    }
  }
  std::shared_ptr<const std::string> data;
  if (it->second.state == State::kReady && it->second.version == version &&
      it->second.size == size) {
    data = it->second.data;
    ++stats_.hits;
  } else if (it->second.state == State::kReady) {
    ++stats_.stale;  // listed at another version than the open's: never served
  } else {
    ++stats_.misses;  // still queued (cancelled here) or still in flight after `wait`
  }
  // A fetch still in flight fills nothing once the entry is gone.
  Drop(it);
  return data;
}

bool BatchCache::Holds(const std::string& key) const {
  std::lock_guard lk(mu_);
  return entries_.count(key) > 0;
}

uint64_t BatchCache::used() const {
  std::lock_guard lk(mu_);
  return used_;
}

size_t BatchCache::size() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

size_t BatchCache::ready() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.state == State::kReady;
  return n;
}

BatchCache::Stats BatchCache::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace aisle::fs
