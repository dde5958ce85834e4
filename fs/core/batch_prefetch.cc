#include "fs/core/batch_prefetch.h"

#include <algorithm>
#include <map>

#include "common/logging.h"
#include "fs/core/tar_stream.h"

namespace aisle::fs {
namespace {

// Directories whose cursors are kept; past this the map restarts (a cursor is only a hint).
constexpr size_t kMaxCursors = 4096;

}  // namespace

std::string BatchDir::Key() const {
  return bucket + '\n' + (shard.empty() ? object_prefix : shard + '\n' + member_prefix);
}

ObjectRef BatchDir::RefOf(const std::string& name) const {
  ObjectRef r;
  r.bucket = bucket;
  if (shard.empty()) {
    r.object = object_prefix + name;
  } else {
    r.object = shard;
    r.archpath = member_prefix + name;
  }
  return r;
}

const std::string& BatchDir::VersionOf(const DirEntry& e) const {
  return e.version.empty() && !shard.empty() ? shard_version : e.version;
}

std::string BatchKey(const ObjectRef& ref) {
  return ref.bucket + '\n' + ref.object + '\n' + ref.archpath;
}

BatchPrefetcher::BatchPrefetcher(ClusterClient& client, BatchCache& cache,
                                 BatchPrefetchOptions opts)
    : client_(client), cache_(cache), opts_(opts) {
  for (int i = 0; i < std::max(1, opts_.in_flight); ++i)
    threads_.emplace_back([this] { Worker(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchPrefetcher::Post(const std::string& key, std::function<void()> task) {
  {
    std::lock_guard lk(mu_);
    if (stop_ || !posted_.insert(key).second) return;
    // Ahead of queued batches: a listing unlocks the batches of a whole directory.
    queue_.push_front(Task{key, std::move(task)});
  }
  cv_.notify_one();
}

size_t BatchPrefetcher::Schedule(const BatchDir& dir, const DirListing& l, size_t from,
                                 uint64_t limit) {
  std::map<std::string, Batch> open;  // by owning target
  std::vector<Batch> full;
  uint64_t bytes = 0;
  size_t i = from;
  for (; i < l.entries.size() && bytes < limit; ++i) {
    const DirEntry& e = l.entries[i];
    if (e.is_dir || !small(e.size)) continue;
    bytes += e.size;
    ObjectRef ref = dir.RefOf(e.name);
    std::string key = BatchKey(ref);
    if (cache_.Holds(key)) continue;
    if (!cache_.Reserve(key, dir.VersionOf(e), e.size)) break;  // the budget is spent
    Batch& b = open[client_.OwnerOf(ref.bucket, ref.object)];
    b.bucket = dir.bucket;
    b.items.push_back(BatchItem{ref.object, ref.archpath});
    b.keys.push_back(std::move(key));
    b.bytes += e.size;
    if (b.items.size() >= opts_.batch_entries || b.bytes >= opts_.batch_bytes) {
      full.push_back(std::move(b));
      b = Batch{};
    }
  }
  for (auto& [owner, b] : open) {
    if (!b.items.empty()) full.push_back(std::move(b));
  }
  if (!full.empty()) {
    std::lock_guard lk(mu_);
    if (stop_) return i;
    for (auto& b : full) {
      auto shared = std::make_shared<Batch>(std::move(b));
      queue_.push_back(Task{"", [this, shared] { Fetch(*shared); }});
    }
  }
  cv_.notify_all();
  return i;
}

void BatchPrefetcher::OnOpen(const BatchDir& dir, const std::shared_ptr<const DirListing>& listing,
                             size_t index) {
  const auto& es = listing->entries;
  std::string key = dir.Key();
  size_t from;
  uint64_t limit = 0;
  {
    std::lock_guard lk(mu_);
    if (cursor_.size() > kMaxCursors) cursor_.clear();
    if (recent_.size() > kMaxCursors) recent_.clear();
    // Only a reader going through the directory in order gains from its next siblings; a
    // random reader would fetch what it never reads.
    RecentOpens& r = recent_[key];
    bool in_order = false;
    for (size_t i = 0; i < std::min<size_t>(r.n, 8); ++i)
      in_order |= r.index[i] < index && index - r.index[i] <= kSequentialSpan;
    r.index[r.n++ % 8] = index;
    if (!in_order) return;
    // The window grows with the run: twice what the reader went through (at least 16 files),
    // so an accidental pair of close opens fetches little.
    if (r.run_start == SIZE_MAX || r.run_start > index) r.run_start = index;
    uint64_t per = std::max<uint64_t>(es[index].size, 1);
    limit = std::min<uint64_t>(opts_.lookahead, (index - r.run_start + 16) * 2 * per);
    size_t& c = cursor_[key];
    c = std::max(c, index + 1);
    from = c;
  }
  // Bytes already scheduled ahead of this reader count against its lookahead.
  uint64_t ahead = 0;
  for (size_t j = index + 1; j < from && j < es.size() && ahead < limit; ++j)
    if (!es[j].is_dir && small(es[j].size)) ahead += es[j].size;
  if (ahead >= limit || from >= es.size()) return;
  // Refill in steps of a quarter of the window, so batches stay full-sized.
  if (from > index + 1 && ahead > limit * 3 / 4) return;
  size_t next = Schedule(dir, *listing, from, limit - ahead);
  std::lock_guard lk(mu_);
  size_t& c = cursor_[key];
  c = std::max(c, next);
}

void BatchPrefetcher::OnListing(const BatchDir& dir,
                                const std::shared_ptr<const DirListing>& listing) {
  uint64_t total = 0;
  for (const auto& e : listing->entries)
    if (!e.is_dir && small(e.size)) total += e.size;
  if (total == 0 || total > cache_.budget() - cache_.budget() / 4) return;
  // A plain tar that fits is cheaper as one sequential GET than as members assembled one by
  // one (its headers cost 512 bytes per member).
  const bool whole = dir.plain_tar && dir.member_prefix.empty() &&
                     dir.shard_size <= cache_.budget() - cache_.budget() / 4;
  std::string key = dir.Key();
  {
    std::lock_guard lk(mu_);
    if (cursor_.size() > kMaxCursors) cursor_.clear();
    auto it = cursor_.find(key);
    if (it != cursor_.end() && it->second >= listing->entries.size()) return;  // done before
    cursor_[key] = listing->entries.size();
  }
  if (whole) {
    ScheduleWholeTar(dir, *listing);
  } else {
    Schedule(dir, *listing, 0, UINT64_MAX);
  }
}

void BatchPrefetcher::ScheduleWholeTar(const BatchDir& dir, const DirListing& l) {
  auto keys = std::make_shared<std::unordered_map<std::string, std::string>>();
  for (const auto& e : l.entries) {
    if (e.is_dir || !small(e.size)) continue;
    std::string key = BatchKey(dir.RefOf(e.name));
    if (cache_.Holds(key)) continue;
    if (!cache_.Reserve(key, dir.VersionOf(e), e.size)) break;
    keys->emplace(e.name, std::move(key));
  }
  if (keys->empty()) return;
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    // First: readers of this shard wait for it rather than fetch members one by one.
    queue_.push_front(Task{"", [this, dir, keys] { StreamTar(dir, *keys); }});
  }
  cv_.notify_one();
}

void BatchPrefetcher::StreamTar(const BatchDir& dir,
                                std::unordered_map<std::string, std::string>& keys) {
  std::vector<std::string> all;
  all.reserve(keys.size());
  for (const auto& [name, key] : keys) all.push_back(key);
  cache_.MarkInFlight(all);
  TarStream tar(
      [&](const std::string& name, std::string&& data) -> Status {
        auto it = keys.find(name.rfind("./", 0) == 0 ? name.substr(2) : name);
        if (it != keys.end()) {
          cache_.Fill(it->second, std::move(data));
          keys.erase(it);
        }
        return Status::OK();
      },
      opts_.max_object, /*skip_large=*/true);
  ObjectRef ref;
  ref.bucket = dir.bucket;
  ref.object = dir.shard;
  auto r = client_.GetRange(ref, 0, dir.shard_size, [&](std::string_view chunk) -> Status {
    {
      std::lock_guard lk(mu_);
      if (stop_) return Status::Unavailable("aisle-fs stopping");
    }
    return tar.Feed(chunk);
  });
  if (!r.ok())
    spdlog::debug("aisle-fs: prefetch of shard {}: {}", dir.shard, r.status().ToString());
  for (const auto& [name, key] : keys) cache_.Fail(key);  // not in the stream (or it failed)
}

void BatchPrefetcher::Fetch(Batch& b) {
  std::vector<std::string> keys = cache_.MarkInFlight(b.keys);
  if (keys.empty()) return;
  std::vector<BatchItem> items;
  items.reserve(keys.size());
  for (size_t i = 0, k = 0; i < b.keys.size() && k < keys.size(); ++i) {
    if (b.keys[i] == keys[k]) items.push_back(b.items[i]), ++k;
  }
  size_t next = 0;  // the archive holds the entries in request order
  TarStream tar(
      [&](const std::string& name, std::string&& data) -> Status {
        if (next >= items.size()) return Status::IOError("get-batch: more members than asked");
        const BatchItem& it = items[next];
        std::string want = it.archpath.empty() ? it.object : it.object + "/" + it.archpath;
        if (name == want) {
          cache_.Fill(keys[next], std::move(data));
        } else {
          cache_.Fail(keys[next]);  // missing (kBatchMissingPrefix) or not what was asked
        }
        ++next;
        return Status::OK();
      },
      opts_.max_object);
  Status st = client_.GetBatch(b.bucket, items, [&](std::string_view chunk) -> Status {
    {
      std::lock_guard lk(mu_);
      if (stop_) return Status::Unavailable("aisle-fs stopping");
    }
    return tar.Feed(chunk);
  });
  if (st.ok()) st = tar.Finish();
  if (!st.ok())
    spdlog::debug("aisle-fs: prefetch of {} entries of {}: {}", items.size(), b.bucket,
                  st.ToString());
  for (size_t i = next; i < keys.size(); ++i) cache_.Fail(keys[i]);
}

void BatchPrefetcher::Worker() {
  for (;;) {
    Task t;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    t.fn();
    if (!t.key.empty()) {
      std::lock_guard lk(mu_);
      posted_.erase(t.key);
    }
  }
}

}  // namespace aisle::fs
