#include "fs/core/meta_cache.h"

#include <algorithm>

namespace aisle::fs {

std::shared_ptr<const DirListing> MetaCache::GetListing(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = listings_.find(key);
  if (it == listings_.end() || it->second.expiry <= Clock::now()) return nullptr;
  return it->second.listing;
}

void MetaCache::PutListing(const std::string& key, std::shared_ptr<const DirListing> listing) {
  if (dir_ttl_ <= Clock::duration::zero()) return;
  std::lock_guard lk(mu_);
  // Bound the cache: expired listings go first, then everything (a refetch is cheap).
  if (listings_.size() > 4096) {
    auto now = Clock::now();
    std::erase_if(listings_, [&](const auto& kv) { return kv.second.expiry <= now; });
    if (listings_.size() > 4096) listings_.clear();
  }
  listings_[key] = {std::move(listing), Clock::now() + dir_ttl_};
}

void MetaCache::InvalidateBucket(const std::string& bucket) {
  std::lock_guard lk(mu_);
  std::string pfx = bucket;
  pfx += '\0';
  auto in_bucket = [&](const auto& kv) { return kv.first.compare(0, pfx.size(), pfx) == 0; };
  std::erase_if(listings_, in_bucket);
  std::erase_if(windows_, [&](const auto& kv) {
    if (!in_bucket(kv)) return false;
    window_count_ -= kv.second.size();
    return true;
  });
}

namespace {
constexpr size_t kWindowsPerDir = 4;  // a few readers walking one directory at once
constexpr size_t kMaxWindows = 256;   // ~512 entries each: bounded memory

std::string WindowKey(const std::string& bucket, const std::string& dir_prefix, bool members) {
  std::string k = bucket;
  k += '\0';
  k += members ? '\1' : '\0';
  k += dir_prefix;
  return k;
}
}  // namespace

LookupWindow::Answer MetaCache::FindInWindows(const std::string& bucket,
                                              const std::string& dir_prefix, bool members,
                                              const std::string& name, DirEntry* entry) const {
  std::lock_guard lk(mu_);
  auto it = windows_.find(WindowKey(bucket, dir_prefix, members));
  if (it == windows_.end()) return LookupWindow::Answer::kUnknown;
  auto now = Clock::now();
  for (const auto& w : it->second) {
    if (w.expiry <= now) continue;
    auto a = w.window->Find(name, entry);
    if (a != LookupWindow::Answer::kUnknown) return a;
  }
  return LookupWindow::Answer::kUnknown;
}

bool MetaCache::HasWindows(const std::string& bucket, const std::string& dir_prefix,
                           bool members) const {
  std::lock_guard lk(mu_);
  auto it = windows_.find(WindowKey(bucket, dir_prefix, members));
  if (it == windows_.end()) return false;
  auto now = Clock::now();
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const CachedWindow& w) { return w.expiry > now; });
}

void MetaCache::PutWindow(const std::string& bucket, const std::string& dir_prefix, bool members,
                          std::shared_ptr<const LookupWindow> window) {
  if (dir_ttl_ <= Clock::duration::zero()) return;
  std::lock_guard lk(mu_);
  if (window_count_ >= kMaxWindows) {
    windows_.clear();  // refetching a window is one listing
    window_count_ = 0;
  }
  auto& ws = windows_[WindowKey(bucket, dir_prefix, members)];
  auto now = Clock::now();
  window_count_ -= ws.size();
  std::erase_if(ws, [&](const CachedWindow& w) { return w.expiry <= now; });
  if (ws.size() >= kWindowsPerDir) ws.erase(ws.begin());  // the oldest
  ws.push_back({std::move(window), now + dir_ttl_});
  window_count_ += ws.size();
}

bool MetaCache::IsNegative(uint64_t parent, const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = negative_.find({parent, name});
  return it != negative_.end() && it->second > Clock::now();
}

void MetaCache::PutNegative(uint64_t parent, const std::string& name) {
  if (negative_ttl_ <= Clock::duration::zero()) return;
  std::lock_guard lk(mu_);
  if (negative_.size() > 65536) {
    auto now = Clock::now();
    std::erase_if(negative_, [&](const auto& kv) { return kv.second <= now; });
    if (negative_.size() > 65536) negative_.clear();
  }
  negative_[{parent, name}] = Clock::now() + negative_ttl_;
}

void MetaCache::ClearNegative(uint64_t parent, const std::string& name) {
  std::lock_guard lk(mu_);
  negative_.erase({parent, name});
}

void MetaCache::AddLocalDir(const std::string& bucket, const std::string& key) {
  std::lock_guard lk(mu_);
  local_dirs_.insert({bucket, key});
}

bool MetaCache::IsLocalDir(const std::string& bucket, const std::string& key) const {
  std::lock_guard lk(mu_);
  return local_dirs_.count({bucket, key}) > 0;
}

void MetaCache::RemoveLocalDir(const std::string& bucket, const std::string& key) {
  std::lock_guard lk(mu_);
  local_dirs_.erase({bucket, key});
}

std::vector<std::string> MetaCache::LocalChildren(const std::string& bucket,
                                                  const std::string& parent_key) const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  std::string pfx = parent_key.empty() ? "" : parent_key + "/";
  for (auto it = local_dirs_.lower_bound({bucket, pfx});
       it != local_dirs_.end() && it->first == bucket; ++it) {
    const std::string& k = it->second;
    if (k.compare(0, pfx.size(), pfx) != 0) break;
    std::string rest = k.substr(pfx.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;
}

std::shared_ptr<const DirListing> MetaCache::GetShardListing(const std::string& key,
                                                             const std::string& version) const {
  std::lock_guard lk(mu_);
  auto it = shard_listings_.find(key + '\0' + version);
  return it == shard_listings_.end() ? nullptr : it->second;
}

void MetaCache::PutShardListing(const std::string& key, const std::string& version,
                                std::shared_ptr<const DirListing> listing, uint64_t max_members) {
  uint64_t n = listing->entries.size();
  if (n > max_members) return;
  std::lock_guard lk(mu_);
  std::string k = key + '\0' + version;
  if (shard_listings_.count(k)) return;
  while (shard_members_ + n > max_members && !shard_order_.empty()) {
    auto it = shard_listings_.find(shard_order_.front());
    shard_order_.pop_front();
    if (it == shard_listings_.end()) continue;
    shard_members_ -= it->second->entries.size();
    shard_listings_.erase(it);
  }
  shard_members_ += n;
  shard_order_.push_back(k);
  shard_listings_.emplace(std::move(k), std::move(listing));
}

}  // namespace aisle::fs
