#include "fs/core/dir_listing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "fs/core/path_scheme.h"

namespace aisle::fs {
namespace {
// U+10FFFF in UTF-8: sorts after every valid UTF-8 continuation of a name, so
// start_after = "dir/" + kMaxUtf8 skips everything under "dir/".
constexpr char kMaxUtf8[] = "\xf4\x8f\xbf\xbf";
}  // namespace

const DirEntry* DirListing::Find(const std::string& name) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const DirEntry& e, const std::string& n) { return e.name < n; });
  if (it == entries.end() || it->name != name) return nullptr;
  return &*it;
}

std::string ListingSpec::CacheKey() const {
  std::string k = bucket;
  k += '\0';
  k += prefix;
  k += '\0';
  k += strip;
  k += archive ? "\1" : "\0";
  return k;
}

Result<std::shared_ptr<const DirListing>> FetchListing(ClusterClient& client,
                                                       const ListingSpec& spec) {
  auto out = std::make_shared<DirListing>();
  auto& v = out->entries;
  ListRequest req;
  req.bucket = spec.bucket;
  req.prefix = spec.prefix;
  req.archive = spec.archive;
  int64_t shard_mtime = 0;
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration list_time{};
  int pages = 0;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    AISLE_ASSIGN_OR_RETURN(ListPage page, client.List(req));
    list_time += std::chrono::steady_clock::now() - t0;
    ++pages;
    std::string last_subdir;
    for (auto& e : page.entries) {
      // Members carry no time of their own: show the shard's.
      if (spec.archive && e.name == spec.prefix) shard_mtime = e.mtime_ns;
      if (spec.archive && e.mtime_ns == 0) e.mtime_ns = shard_mtime;
      if (e.name.size() <= spec.strip.size() ||
          e.name.compare(0, spec.strip.size(), spec.strip) != 0) {
        continue;
      }
      std::string_view rest = std::string_view(e.name).substr(spec.strip.size());
      size_t slash = rest.find('/');
      std::string_view comp = slash == std::string_view::npos ? rest : rest.substr(0, slash);
      if (!ValidComponent(comp)) continue;  // "a//b", "./", "..": not representable as paths
      if (slash == std::string_view::npos) {
        v.push_back({std::string(rest), false, e.size, e.mtime_ns, e.version});
        last_subdir.clear();
      } else if (slash > 0) {
        std::string d(rest.substr(0, slash));
        if (v.empty() || !v.back().is_dir || v.back().name != d) {
          v.push_back({d, true, 0, e.mtime_ns, ""});
        } else {
          v.back().mtime_ns = std::max(v.back().mtime_ns, e.mtime_ns);
        }
        last_subdir = spec.strip + d + "/";
      }
    }
    if (page.next_token.empty()) break;
    if (!last_subdir.empty() && !spec.archive) {
      req.token.clear();
      req.start_after = last_subdir + kMaxUtf8;
    } else {
      req.start_after.clear();
      req.token = page.next_token;
    }
  }
  // Names are sorted bytewise by the server, but "x" (file), "x.y", "x/..." (dir "x") may
  // interleave; sort and let the directory win over a same-named object.
  std::stable_sort(v.begin(), v.end(), [](const DirEntry& a, const DirEntry& b) {
    if (a.name != b.name) return a.name < b.name;
    return a.is_dir && !b.is_dir;
  });
  v.erase(std::unique(v.begin(), v.end(),
                      [](const DirEntry& a, const DirEntry& b) { return a.name == b.name; }),
          v.end());
  if (pages > 1) {
    auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    spdlog::debug("aisle-fs: listed {}/{}: {} entries, {} pages, {} ms ({} ms in list calls)",
                  spec.bucket, spec.prefix, v.size(), pages,
                  ms(std::chrono::steady_clock::now() - start), ms(list_time));
  }
  return std::shared_ptr<const DirListing>(std::move(out));
}

ListingStream::ListingStream(ClusterClient& client, ListingSpec spec)
    : client_(client), spec_(std::move(spec)) {
  thread_ = std::thread([this] { Run(); });
}

ListingStream::~ListingStream() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ListingStream::Emit(DirEntry e) { entries_.push_back(std::move(e)); }

void ListingStream::Run() {
  ListRequest req;
  req.bucket = spec_.bucket;
  req.prefix = spec_.prefix;
  req.archive = spec_.archive;
  int64_t shard_mtime = 0;
  Status st;
  for (;;) {
    Result<ListPage> page_r = Status::Internal("list threw");
    try {
      page_r = client_.List(req);
    } catch (...) {
    }
    if (!page_r.ok()) {
      st = page_r.status();
      break;
    }
    ListPage& page = *page_r;
    std::string last_subdir;
    {
      std::lock_guard lk(mu_);
      for (auto& e : page.entries) {
        if (spec_.archive && e.name == spec_.prefix) shard_mtime = e.mtime_ns;
        if (spec_.archive && e.mtime_ns == 0) e.mtime_ns = shard_mtime;
        if (e.name.size() <= spec_.strip.size() ||
            e.name.compare(0, spec_.strip.size(), spec_.strip) != 0) {
          continue;
        }
        std::string_view rest = std::string_view(e.name).substr(spec_.strip.size());
        size_t slash = rest.find('/');
        std::string_view comp = slash == std::string_view::npos ? rest : rest.substr(0, slash);
        if (!ValidComponent(comp)) continue;
        // Held-back objects are safe once names stop starting with theirs.
        for (size_t i = 0; i < pending_.size();) {
          if (rest.substr(0, pending_[i].name.size()) != pending_[i].name) {
            Emit(std::move(pending_[i]));
            pending_.erase(pending_.begin() + static_cast<ptrdiff_t>(i));
          } else {
            ++i;
          }
        }
        if (slash == std::string_view::npos) {
          pending_.push_back({std::string(rest), false, e.size, e.mtime_ns, e.version});
          last_subdir.clear();
        } else {
          std::string d(comp);
          last_subdir = spec_.strip + d + "/";
          if (d == last_dir_) continue;
          last_dir_ = d;
          std::erase_if(pending_, [&](const DirEntry& p) { return p.name == d; });  // dir wins
          Emit({d, true, 0, e.mtime_ns, ""});
        }
      }
      cv_.notify_all();
      if (stop_) break;
    }
    if (page.next_token.empty()) break;
    if (!last_subdir.empty() && !spec_.archive) {
      req.token.clear();
      req.start_after = last_subdir + kMaxUtf8;
    } else {
      req.start_after.clear();
      req.token = page.next_token;
    }
  }
  std::lock_guard lk(mu_);
  for (auto& p : pending_) Emit(std::move(p));
  pending_.clear();
  status_ = st;
  done_ = true;
  cv_.notify_all();
}

Result<const DirEntry*> ListingStream::At(size_t i) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return done_ || entries_.size() > i; });
  if (i < entries_.size()) return &entries_[i];
  if (!status_.ok()) return status_;
  return static_cast<const DirEntry*>(nullptr);
}

Result<std::shared_ptr<const DirListing>> ListingStream::Wait() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return done_; });
  if (!status_.ok()) return status_;
  if (!sorted_) {
    auto l = std::make_shared<DirListing>();
    l->entries.assign(entries_.begin(), entries_.end());
    std::sort(l->entries.begin(), l->entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    sorted_ = std::move(l);
  }
  return sorted_;
}

}  // namespace aisle::fs
