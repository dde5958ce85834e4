#include "fs/core/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/logging.h"
#include "fs/core/batch_cache.h"
#include "fs/core/batch_prefetch.h"
#include "fs/core/buffer_pool.h"
#include "fs/core/errno_map.h"
#include "fs/core/file_handle.h"
#include "fs/core/prefetcher.h"
#include "fs/core/stream_upload.h"
#include "fs/core/write_spool.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace aisle::fs {
namespace {

// Keys per lookup window: a cold lookup lists this many names of its directory from the
// looked-up one on (~50 KiB of listing), settling the lookups that follow in name order.
constexpr uint32_t kLookupWindowKeys = 512;

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// A stable d_ino for plain readdir entries the kernel has not looked up (never a real ino).
uint64_t HashIno(uint64_t parent, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ parent;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h | (1ull << 63);
}

}  // namespace

Filesystem::Filesystem(ClusterClient& client, FsOptions opts, FsMetrics* metrics)
    : client_(client),
      opts_(std::move(opts)),
      cache_(Seconds(opts_.dir_timeout), Seconds(opts_.negative_timeout)),
      pool_(opts_.max_conns),
      buffers_(BufferPool::Create(opts_.readahead + (16ull << 20))),
      own_metrics_(metrics ? nullptr : std::make_unique<FsMetrics>()),
      metrics_(metrics ? metrics : own_metrics_.get()) {
  if (opts_.stream_idle_timeout > 0)
    stream_closer_ = std::thread([this] { CloseIdleStreamsLoop(); });
  if (opts_.prefetch && opts_.prefetch_mem > 0) {
    // Entries nobody opened leave after a minute (their room is then fetched again).
    batch_cache_ = std::make_unique<BatchCache>(opts_.prefetch_mem, std::chrono::seconds(60));
    BatchPrefetchOptions bo;
    bo.max_object = opts_.prefetch_max_object;
    bo.in_flight = opts_.prefetch_streams;
    bo.lookahead = std::min<uint64_t>(bo.lookahead, opts_.prefetch_mem / 4);
    batcher_ = std::make_unique<BatchPrefetcher>(client_, *batch_cache_, bo);
  }
}

Filesystem::~Filesystem() {
  batcher_.reset();  // its tasks use the table and caches
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (stream_closer_.joinable()) stream_closer_.join();
  std::lock_guard lk(mu_);
  files_.clear();  // cancels readahead before the pool joins
}

void Filesystem::CloseIdleStreamsLoop() {
  const Clock::duration idle = Seconds(opts_.stream_idle_timeout);
  std::unique_lock lk(mu_);
  while (!stop_cv_.wait_for(lk, idle / 4, [this] { return stopping_; })) {
    std::vector<std::shared_ptr<FileHandle>> open;
    for (auto& [fh, h] : files_) {
      if (h->reader) open.push_back(h);
    }
    lk.unlock();
    auto before = Clock::now() - idle;
    for (auto& h : open) h->reader->CloseIdleStream(before);
    open.clear();  // the last owner of a released handle lets it go here, unlocked
    lk.lock();
  }
}

Clock::time_point Filesystem::AttrExpiry() const {
  return Clock::now() + Seconds(opts_.attr_timeout);
}

Filesystem::DirClass Filesystem::Classify(const Inode& in) const {
  switch (in.kind) {
    case Kind::kRoot: return opts_.bucket.empty() ? DirClass::kBucketList : DirClass::kObjectDir;
    case Kind::kVirtual:
      if (in.loc.view == View::kEtl && in.loc.etl.empty()) return DirClass::kEtlRoot;
      return DirClass::kBucketList;
    case Kind::kBucket:
    case Kind::kDir: return DirClass::kObjectDir;
    case Kind::kShard:
    case Kind::kMemberDir: return DirClass::kShardDir;
    default: return DirClass::kNotDir;
  }
}

void Filesystem::ChildOf(const Inode& dir, const DirEntry& e, Kind* kind, Location* loc) const {
  *loc = dir.loc;
  if (dir.kind == Kind::kRoot) loc->view = View::kNormal;
  switch (Classify(dir)) {
    case DirClass::kBucketList:
      *kind = Kind::kBucket;
      loc->bucket = e.name;
      loc->key.clear();
      return;
    case DirClass::kEtlRoot:
      if (opts_.bucket.empty()) {
        *kind = Kind::kVirtual;
      } else {
        *kind = Kind::kBucket;
        loc->bucket = opts_.bucket;
      }
      loc->etl = e.name;
      return;
    case DirClass::kShardDir:
      loc->member = JoinKey(dir.kind == Kind::kShard ? "" : dir.loc.member, e.name);
      *kind = e.is_dir ? Kind::kMemberDir : Kind::kMember;
      return;
    default: {
      std::string bucket, key;
      ObjectDirOf(dir, opts_, &bucket, &key);
      loc->bucket = bucket;
      loc->key = JoinKey(key, e.name);
      if (e.is_dir) {
        *kind = Kind::kDir;
      } else if (opts_.shards && loc->view != View::kRaw && IsShardName(e.name)) {
        *kind = Kind::kShard;
      } else {
        *kind = Kind::kFile;
      }
      return;
    }
  }
}

Result<std::shared_ptr<const DirListing>> Filesystem::ListDir(const Inode& dir) {
  DirClass c = Classify(dir);
  if (c == DirClass::kNotDir) return ErrnoStatus(ENOTDIR, "readdir");
  // Directories of names only (cached under keys no bucket listing can have).
  auto names_dir = [&](std::string key, auto fetch) -> Result<std::shared_ptr<const DirListing>> {
    if (auto l = cache_.GetListing(key)) return l;
    AISLE_ASSIGN_OR_RETURN(std::vector<std::string> names, fetch());
    auto l = std::make_shared<DirListing>();
    for (auto& n : names) l->entries.push_back({n, true, 0, 0, ""});
    std::sort(l->entries.begin(), l->entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    cache_.PutListing(key, l);
    return std::shared_ptr<const DirListing>(l);
  };
  if (c == DirClass::kEtlRoot)  // the registered transforms
    return names_dir(std::string("\0etls", 5), [&] { return client_.ListEtls(); });
  if (c == DirClass::kBucketList)
    return names_dir(std::string("\0buckets", 8), [&] { return client_.ListBuckets(); });
  ListingSpec spec;
  std::string key;
  SpecFor(dir, &spec, &key);
  if (dir.kind == Kind::kShard && !dir.attr.version.empty()) return ShardMembers(dir);
  std::shared_ptr<const DirListing> listing = cache_.GetListing(spec.CacheKey());
  if (!listing) {
    AISLE_ASSIGN_OR_RETURN(listing, FetchListing(client_, spec));
    cache_.PutListing(spec.CacheKey(), listing);
  }
  if (c == DirClass::kObjectDir) {
    // Merge client-side empty directories made with mkdir.
    auto local = cache_.LocalChildren(spec.bucket, key);
    std::vector<DirEntry> extra;
    for (auto& n : local) {
      if (!listing->Find(n)) extra.push_back({n, true, 0, 0, ""});
    }
    if (!extra.empty()) {
      auto merged = std::make_shared<DirListing>(*listing);
      for (auto& e : extra) merged->entries.push_back(std::move(e));
      std::sort(merged->entries.begin(), merged->entries.end(),
                [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
      listing = merged;
    }
  }
  return listing;
}

bool Filesystem::SpecFor(const Inode& dir, ListingSpec* spec, std::string* key) const {
  DirClass c = Classify(dir);
  if (c == DirClass::kShardDir) {
    spec->bucket = dir.loc.bucket;
    spec->strip = dir.loc.key + "/" + (dir.loc.member.empty() ? "" : dir.loc.member + "/");
    spec->prefix = spec->strip;  // the server lists just this directory of the shard
    spec->archive = true;
    return true;
  }
  if (c != DirClass::kObjectDir) return false;
  ObjectDirOf(dir, opts_, &spec->bucket, key);
  spec->prefix = key->empty() ? "" : *key + "/";
  spec->strip = spec->prefix;
  return true;
}

Result<Inode> Filesystem::Resolve(const Inode& parent, const std::string& name, uint64_t lookups) {
  DirClass c = Classify(parent);
  if (c == DirClass::kNotDir) return ErrnoStatus(ENOTDIR, "lookup " + name);
  if (!ValidComponent(name)) return ErrnoStatus(ENOENT, "lookup " + name);
  auto exp = AttrExpiry();
  // The other views hang off the mount root; they are not listed (find/du stay on the tree).
  if (parent.kind == Kind::kRoot && (name == kRawDirName || name == kEtlDirName)) {
    Location loc;
    loc.view = name == kRawDirName ? View::kRaw : View::kEtl;
    Kind kind = Kind::kVirtual;
    if (name == kRawDirName && !opts_.bucket.empty()) {
      kind = Kind::kBucket;
      loc.bucket = opts_.bucket;
    }
    return table_.Upsert(parent.ino, name, kind, loc, {}, exp, lookups);
  }
  // A child with fresh attributes (including files being written here) needs no listing.
  if (auto in = table_.FindChild(parent.ino, name); in && in->attr_expiry > Clock::now()) {
    if (lookups) table_.AddLookup(in->ino, lookups);
    return *in;
  }
  if (cache_.IsNegative(parent.ino, name)) return ErrnoStatus(ENOENT, "lookup " + name);
  if (c == DirClass::kEtlRoot) return ResolveTransform(parent, name, exp, lookups);
  std::optional<DirEntry> found;
  std::string bucket, key;
  if (c == DirClass::kObjectDir) ObjectDirOf(parent, opts_, &bucket, &key);
  ListingSpec spec;
  std::string unused;
  const bool listable = SpecFor(parent, &spec, &unused);
  // The key the name stands for: "dir/name", or "shard.tar/member-dir/name" in a shard.
  std::string full = c == DirClass::kObjectDir ? JoinKey(key, name) : spec.strip + name;
  if (parent.kind == Kind::kShard && !parent.attr.version.empty()) {
    // A shard's members are listed once per shard version; every lookup in it after that is
    // answered from memory, in any order.
    AISLE_ASSIGN_OR_RETURN(auto members, ShardMembers(parent));
    if (const DirEntry* e = members->Find(name)) found = *e;
  } else if (c == DirClass::kObjectDir && cache_.IsLocalDir(bucket, full)) {
    found = DirEntry{name, true, 0, 0, ""};
  } else if (listable && !cache_.GetListing(spec.CacheKey())) {
    // No fresh listing of the parent: a window of it from `full` on, instead of listing it
    // all. It settles this name (a prefix shadows an object of the same name, as in
    // listings) and, kept for the TTL, the names that follow it. In a shard the window lists
    // members (the server pages one shard directory by name).
    AISLE_ASSIGN_OR_RETURN(found, LookupByWindows(spec, name, full));
  } else {
    AISLE_ASSIGN_OR_RETURN(auto listing, ListDir(parent));
    if (const DirEntry* e = listing->Find(name)) found = *e;
  }
  if (!found) {
    cache_.PutNegative(parent.ino, name);
    return ErrnoStatus(ENOENT, "lookup " + name);
  }
  Kind kind;
  Location loc;
  ChildOf(parent, *found, &kind, &loc);
  Attr attr{found->size, found->mtime_ns, found->version};
  return table_.Upsert(parent.ino, name, kind, loc, attr, exp, lookups);
}

Result<Inode> Filesystem::ResolveTransform(const Inode& parent, const std::string& name,
                                           Clock::time_point exp, uint64_t lookups) {
  // A misspelt name is ENOENT at once, not a browsable tree whose every read fails.
  AISLE_ASSIGN_OR_RETURN(auto etls, ListDir(parent));
  bool known = std::any_of(etls->entries.begin(), etls->entries.end(),
                           [&](const DirEntry& d) { return d.name == name; });
  if (!known) {
    cache_.PutNegative(parent.ino, name);
    return ErrnoStatus(ENOENT, "lookup .etl/" + name + ": no such transform");
  }
  DirEntry e{name, true, 0, 0, ""};
  Kind kind;
  Location loc;
  ChildOf(parent, e, &kind, &loc);
  return table_.Upsert(parent.ino, name, kind, loc, {}, exp, lookups);
}

Result<std::optional<DirEntry>> Filesystem::LookupByWindows(const ListingSpec& spec,
                                                            const std::string& name,
                                                            const std::string& full) {
  const std::string& dir_prefix = spec.strip;
  const std::string& bucket = spec.bucket;
  DirEntry e;
  auto answer = cache_.FindInWindows(bucket, dir_prefix, spec.archive, name, &e);
  if (answer == LookupWindow::Answer::kUnknown &&
      !cache_.HasWindows(bucket, dir_prefix, spec.archive)) {
    // The first lookup in a directory takes its head: all of a small directory (a shard's
    // member directory, a class folder) in one listing, whatever order names come in.
    ListRequest req;
    req.bucket = bucket;
    req.archive = spec.archive;
    req.prefix = dir_prefix;
    req.page_size = 2 * kLookupWindowKeys;
    AISLE_ASSIGN_OR_RETURN(ListPage page, client_.List(req));
    auto head = std::make_shared<LookupWindow>(dir_prefix, dir_prefix, std::move(page));
    answer = head->Find(name, &e);
    cache_.PutWindow(bucket, dir_prefix, spec.archive, std::move(head));
  }
  if (answer == LookupWindow::Answer::kUnknown) return LookupInNewWindow(spec, name, full);
  if (answer == LookupWindow::Answer::kFound) return std::optional<DirEntry>(e);
  return std::optional<DirEntry>();
}

Result<std::optional<DirEntry>> Filesystem::LookupInNewWindow(const ListingSpec& spec,
                                                              const std::string& name,
                                                              const std::string& full) {
  const std::string& dir_prefix = spec.strip;
  DirEntry e;
  ListRequest req;
  req.bucket = spec.bucket;
  req.archive = spec.archive;
  req.prefix = dir_prefix;
  req.start_after = LookupWindow::KeyBefore(full);
  req.page_size = kLookupWindowKeys;
  AISLE_ASSIGN_OR_RETURN(ListPage page, client_.List(req));
  std::optional<ObjectEntry> exact;
  for (const auto& o : page.entries) {
    if (o.name == full) exact = o;
    if (o.name >= full) break;
  }
  auto window = std::make_shared<LookupWindow>(dir_prefix, full, std::move(page));
  auto answer = window->Find(name, &e);
  if (answer == LookupWindow::Answer::kUnknown) {
    // More than a window of keys under "full/" before the first that settles it: only
    // possible for a directory, which one key under it proves.
    req.prefix = full + "/";
    req.start_after.clear();
    req.page_size = 1;
    AISLE_ASSIGN_OR_RETURN(ListPage dir_page, client_.List(req));
    if (!dir_page.entries.empty()) {
      e = DirEntry{name, true, 0, dir_page.entries[0].mtime_ns, ""};
      answer = LookupWindow::Answer::kFound;
    } else if (exact) {
      e = DirEntry{name, false, exact->size, exact->mtime_ns, exact->version};
      answer = LookupWindow::Answer::kFound;
    }
  }
  cache_.PutWindow(spec.bucket, dir_prefix, spec.archive, std::move(window));
  if (answer == LookupWindow::Answer::kFound) return std::optional<DirEntry>(e);
  return std::optional<DirEntry>();
}

AttrOut Filesystem::ToAttr(const Inode& in) const {
  AttrOut a;
  a.ino = in.ino;
  a.is_dir = IsDirKind(in.kind);
  a.size = a.is_dir ? 0 : in.attr.size;
  a.mtime_ns = in.attr.mtime_ns;
  a.uid = opts_.uid;
  a.gid = opts_.gid;
  bool writable = Writable(in);
  if (a.is_dir) {
    a.mode = S_IFDIR | (0777 & ~opts_.umask);
    a.nlink = 2;
  } else {
    a.mode = S_IFREG | (0666 & ~opts_.umask);
    a.nlink = 1;
  }
  if (!writable) a.mode &= ~static_cast<uint32_t>(0222);
  return a;
}

bool Filesystem::Writable(const Inode& in) const {
  if (opts_.read_only) return false;
  switch (in.kind) {
    case Kind::kRoot: return true;
    case Kind::kBucket:
    case Kind::kDir:
    case Kind::kFile: return in.loc.view == View::kNormal;
    default: return false;
  }
}

EntryOut Filesystem::ToEntry(const Inode& in) const {
  return EntryOut{ToAttr(in), opts_.entry_timeout, opts_.attr_timeout};
}

Result<Inode> Filesystem::GetInode(uint64_t ino) const {
  auto in = table_.Get(ino);
  if (!in) return ErrnoStatus(ESTALE, "inode " + std::to_string(ino));
  return *in;
}

ObjectRef Filesystem::RefOf(const Inode& in) const {
  ObjectRef r;
  r.bucket = in.loc.bucket;
  r.object = in.loc.key;
  if (in.kind == Kind::kMember) r.archpath = in.loc.member;
  if (in.loc.view == View::kEtl) r.etl_name = in.loc.etl;
  return r;
}

Result<EntryOut> Filesystem::Lookup(uint64_t parent, const std::string& name) {
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  AISLE_ASSIGN_OR_RETURN(Inode in, Resolve(p, name, 1));
  return ToEntry(in);
}

void Filesystem::Forget(uint64_t ino, uint64_t nlookup) { table_.Forget(ino, nlookup); }

Result<AttrOut> Filesystem::GetAttr(uint64_t ino) {
  AISLE_ASSIGN_OR_RETURN(Inode in, GetInode(ino));
  bool writing;
  {
    std::lock_guard lk(mu_);
    writing = writers_.count(ino) > 0;
  }
  if (!IsDirKind(in.kind) && !writing && in.attr_expiry <= Clock::now() && in.parent != 0) {
    // Stale: re-resolve through the parent's listing (never a HEAD).
    auto parent = table_.Get(in.parent);
    if (parent && table_.FindChild(in.parent, in.name).has_value()) {
      AISLE_ASSIGN_OR_RETURN(Inode fresh, Resolve(*parent, in.name, 0));
      if (fresh.ino == ino) in = fresh;
    }
  }
  return ToAttr(in);
}

Result<AttrOut> Filesystem::SetAttr(uint64_t ino, std::optional<uint64_t> size,
                                    std::optional<uint64_t> fh) {
  AISLE_ASSIGN_OR_RETURN(Inode in, GetInode(ino));
  if (!size) return GetAttr(ino);
  if (IsDirKind(in.kind)) return ErrnoStatus(EISDIR, "truncate " + in.name);
  if (!Writable(in)) return ErrnoStatus(EROFS, "truncate " + in.name);
  std::shared_ptr<FileHandle> h = fh ? GetHandle(*fh) : nullptr;
  if (h) {
    std::lock_guard hl(h->mu);
    if (h->spool) {
      if (h->stream && *size != h->spool->size()) h->stream->Abort(), h->stream.reset();
      if (*size != h->spool->size()) h->may_stream = false;
      AISLE_RETURN_IF_ERROR(h->spool->Truncate(*size));
      in.attr.size = *size;
      table_.SetAttr(ino, in.attr, AttrExpiry());
      return ToAttr(in);
    }
  }
  // truncate(2) without an open handle: rewrite the object at the new size.
  AISLE_ASSIGN_OR_RETURN(auto spool, WriteSpool::Create(opts_.spool_dir));
  uint64_t keep = std::min(*size, in.attr.size);
  if (keep > 0) AISLE_RETURN_IF_ERROR(spool->LoadFrom(client_, RefOf(in), keep));
  AISLE_RETURN_IF_ERROR(spool->Truncate(*size));
  AISLE_ASSIGN_OR_RETURN(ObjectHead head, spool->Commit(client_, in.loc.bucket, in.loc.key));
  cache_.InvalidateBucket(in.loc.bucket);
  in.attr = {*size, head.mtime_ns, head.version};
  table_.SetAttr(ino, in.attr, AttrExpiry());
  return ToAttr(in);
}

Result<uint64_t> Filesystem::OpenDir(uint64_t ino) {
  AISLE_ASSIGN_OR_RETURN(Inode in, GetInode(ino));
  if (!IsDirKind(in.kind)) return ErrnoStatus(ENOTDIR, "opendir " + in.name);
  auto h = std::make_shared<DirHandle>();
  h->dir = in;
  ListingSpec spec;
  std::string key;
  if (in.kind == Kind::kShard && !in.attr.version.empty()) {
    AISLE_ASSIGN_OR_RETURN(h->listing, ShardMembers(in));
    NoteListing(in, h->listing);
  } else if (SpecFor(in, &spec, &key) && !cache_.GetListing(spec.CacheKey())) {
    // Not cached: stream it, so readdir starts with the first page (huge directories).
    h->stream = std::make_unique<ListingStream>(client_, spec);
    if (Classify(in) == DirClass::kObjectDir) h->local = cache_.LocalChildren(spec.bucket, key);
    auto first = h->stream->At(0);  // errors (no bucket, node down) surface at opendir
    if (!first.ok()) return first.status();
  } else {
    AISLE_ASSIGN_OR_RETURN(h->listing, ListDir(in));
    NoteListing(in, h->listing);
  }
  uint64_t fh = next_fh_++;
  std::lock_guard lk(mu_);
  dirs_[fh] = std::move(h);
  return fh;
}

Result<const DirEntry*> Filesystem::EntryAt(DirHandle& h, size_t i) {
  if (h.listing) return i < h.listing->entries.size() ? &h.listing->entries[i] : nullptr;
  AISLE_ASSIGN_OR_RETURN(const DirEntry* e, h.stream->At(i));
  if (e != nullptr) return e;
  AISLE_ASSIGN_OR_RETURN(auto full, h.stream->Wait());
  std::lock_guard lk(h.mu);
  if (!h.finished) {
    cache_.PutListing(h.stream->spec().CacheKey(), full);
    NoteListing(h.dir, full);
    for (auto& n : h.local) {
      if (!full->Find(n)) h.extra.push_back({n, true, 0, 0, ""});
    }
    h.finished = true;
  }
  size_t n = full->entries.size();
  return i - n < h.extra.size() ? &h.extra[i - n] : nullptr;
}

Status Filesystem::ReadDir(uint64_t fh, uint64_t offset, bool plus, const DirFiller& fill) {
  std::shared_ptr<DirHandle> h;
  {
    std::lock_guard lk(mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end()) return ErrnoStatus(EBADF, "readdir");
    h = it->second;
  }
  auto exp = AttrExpiry();
  for (uint64_t off = offset;; ++off) {
    DirentOut d;
    d.next_offset = off + 1;
    if (off < 2) {
      d.name = off == 0 ? "." : "..";
      d.ino = off == 0 ? h->dir.ino : h->dir.parent;
      d.is_dir = true;
      EntryOut e;
      e.attr = ToAttr(h->dir);
      e.attr.ino = d.ino;
      if (!fill(d, plus ? &e : nullptr)) break;
      continue;
    }
    AISLE_ASSIGN_OR_RETURN(const DirEntry* dep, EntryAt(*h, off - 2));
    if (dep == nullptr) break;
    const DirEntry& de = *dep;
    d.name = de.name;
    Kind kind;
    Location loc;
    ChildOf(h->dir, de, &kind, &loc);
    d.is_dir = IsDirKind(kind);
    if (!plus) {
      auto existing = table_.FindChild(h->dir.ino, de.name);
      d.ino = existing ? existing->ino : HashIno(h->dir.ino, de.name);
      if (!fill(d, nullptr)) break;
      continue;
    }
    // readdirplus: the kernel takes a lookup reference on every entry it accepts.
    std::optional<Inode> cur = table_.FindChild(h->dir.ino, de.name);
    bool writing = false;
    if (cur) {
      std::lock_guard lk(mu_);
      writing = writers_.count(cur->ino) > 0;
    }
    Inode in;
    if (writing && cur->kind == kind) {
      in = *cur;  // being written here: the listing is older than our bytes
    } else {
      in =
          table_.Upsert(h->dir.ino, de.name, kind, loc, {de.size, de.mtime_ns, de.version}, exp, 0);
    }
    d.ino = in.ino;
    EntryOut e = ToEntry(in);
    if (!fill(d, &e)) break;
    table_.AddLookup(in.ino, 1);
  }
  return Status::OK();
}

void Filesystem::ReleaseDir(uint64_t fh) {
  std::lock_guard lk(mu_);
  dirs_.erase(fh);
}

Result<EntryOut> Filesystem::MkDir(uint64_t parent, const std::string& name) {
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  if (!ValidComponent(name)) return ErrnoStatus(EINVAL, "mkdir " + name);
  if (opts_.read_only) return ErrnoStatus(EROFS, "mkdir " + name);
  auto existing = Resolve(p, name, 0);
  if (existing.ok()) return ErrnoStatus(EEXIST, "mkdir " + name);
  if (ToErrno(existing.status()) != ENOENT) return existing.status();
  DirClass c = Classify(p);
  Location loc;
  Kind kind;
  if (c == DirClass::kBucketList && p.kind == Kind::kRoot) {
    AISLE_RETURN_IF_ERROR(client_.CreateBucket(name));
    cache_.PutListing(std::string("\0buckets", 8), nullptr);
    kind = Kind::kBucket;
    loc.bucket = name;
  } else if (c == DirClass::kObjectDir && Writable(p)) {
    std::string bucket, key;
    ObjectDirOf(p, opts_, &bucket, &key);
    loc.bucket = bucket;
    loc.key = JoinKey(key, name);
    cache_.AddLocalDir(bucket, loc.key);
    kind = Kind::kDir;
  } else {
    return ErrnoStatus(EROFS, "mkdir " + name);
  }
  cache_.ClearNegative(parent, name);
  Inode in = table_.Upsert(parent, name, kind, loc, {}, AttrExpiry(), 1);
  return ToEntry(in);
}

Status Filesystem::Unlink(uint64_t parent, const std::string& name) {
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  AISLE_ASSIGN_OR_RETURN(Inode in, Resolve(p, name, 0));
  if (IsDirKind(in.kind) && in.kind != Kind::kShard) return ErrnoStatus(EISDIR, "unlink " + name);
  if (in.kind == Kind::kShard) return ErrnoStatus(EISDIR, "unlink " + name + " (use /.raw)");
  bool raw_file = in.kind == Kind::kFile && in.loc.view == View::kRaw;
  if (opts_.read_only || (!Writable(in) && !raw_file)) return ErrnoStatus(EROFS, "unlink " + name);
  Status st = client_.Delete(in.loc.bucket, in.loc.key);
  if (!st.ok() && !st.IsNotFound()) return st;
  table_.Detach(parent, name);
  cache_.InvalidateBucket(in.loc.bucket);
  cache_.PutNegative(parent, name);
  return st;
}

Status Filesystem::RmDir(uint64_t parent, const std::string& name) {
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  AISLE_ASSIGN_OR_RETURN(Inode in, Resolve(p, name, 0));
  if (!IsDirKind(in.kind)) return ErrnoStatus(ENOTDIR, "rmdir " + name);
  if (opts_.read_only) return ErrnoStatus(EROFS, "rmdir " + name);
  if (in.kind != Kind::kDir || in.loc.view != View::kNormal) {
    return ErrnoStatus(in.kind == Kind::kBucket ? EPERM : EROFS, "rmdir " + name);
  }
  if (!cache_.LocalChildren(in.loc.bucket, in.loc.key).empty()) {
    return ErrnoStatus(ENOTEMPTY, "rmdir " + name);
  }
  ListRequest req;
  req.bucket = in.loc.bucket;
  req.prefix = in.loc.key + "/";
  req.page_size = 1;
  AISLE_ASSIGN_OR_RETURN(ListPage page, client_.List(req));
  if (!page.entries.empty()) return ErrnoStatus(ENOTEMPTY, "rmdir " + name);
  cache_.RemoveLocalDir(in.loc.bucket, in.loc.key);
  table_.Detach(parent, name);
  cache_.InvalidateBucket(in.loc.bucket);
  cache_.PutNegative(parent, name);
  return Status::OK();
}

Status Filesystem::Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, unsigned flags) {
  if (flags & RENAME_EXCHANGE) return ErrnoStatus(EINVAL, "rename exchange");
  if (!ValidComponent(new_name)) return ErrnoStatus(EINVAL, "rename to " + new_name);
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  AISLE_ASSIGN_OR_RETURN(Inode np, GetInode(new_parent));
  AISLE_ASSIGN_OR_RETURN(Inode in, Resolve(p, name, 0));
  if (opts_.read_only) return ErrnoStatus(EROFS, "rename " + name);
  if (!Writable(p) || !Writable(np) || Classify(p) != DirClass::kObjectDir ||
      Classify(np) != DirClass::kObjectDir) {
    return ErrnoStatus(EROFS, "rename " + name);
  }
  std::string bucket, key, nbucket, nkey;
  ObjectDirOf(p, opts_, &bucket, &key);
  ObjectDirOf(np, opts_, &nbucket, &nkey);
  if (bucket != nbucket) return ErrnoStatus(EXDEV, "rename across buckets");
  std::string to = JoinKey(nkey, new_name);
  auto target = Resolve(np, new_name, 0);
  if (target.ok()) {
    if (flags & RENAME_NOREPLACE) return ErrnoStatus(EEXIST, "rename to " + new_name);
    if (IsDirKind(target->kind) && !IsDirKind(in.kind)) {
      return ErrnoStatus(EISDIR, "rename to " + new_name);
    }
    if (!IsDirKind(target->kind) && IsDirKind(in.kind)) {
      return ErrnoStatus(ENOTDIR, "rename to " + new_name);
    }
  } else if (ToErrno(target.status()) != ENOENT) {
    return target.status();
  }
  Location nloc = in.loc;
  nloc.key = to;
  if (in.kind == Kind::kDir) {
    // Only client-side empty directories move here; prefixes with objects would need a
    // copy of every object: EXDEV makes mv(1) do exactly that, visibly.
    ListRequest req{bucket, in.loc.key + "/", "", "", 1, false};
    AISLE_ASSIGN_OR_RETURN(ListPage page, client_.List(req));
    if (!page.entries.empty() || !cache_.IsLocalDir(bucket, in.loc.key)) {
      return ErrnoStatus(EXDEV, "rename of a non-empty directory");
    }
    if (target.ok()) return ErrnoStatus(ENOTEMPTY, "rename onto a directory");
    cache_.RemoveLocalDir(bucket, in.loc.key);
    cache_.AddLocalDir(bucket, to);
  } else {
    if (in.loc.key == to) return Status::OK();
    AISLE_RETURN_IF_ERROR(client_.Rename(bucket, in.loc.key, to));
  }
  table_.Move(parent, name, new_parent, new_name, nloc);
  table_.ExpireAttr(in.ino);
  cache_.InvalidateBucket(bucket);
  cache_.PutNegative(parent, name);
  cache_.ClearNegative(new_parent, new_name);
  return Status::OK();
}

std::shared_ptr<Filesystem::FileHandle> Filesystem::GetHandle(uint64_t fh) {
  std::lock_guard lk(mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

Result<OpenOut> Filesystem::Open(uint64_t ino, int flags) {
  AISLE_ASSIGN_OR_RETURN(Inode in, GetInode(ino));
  if (IsDirKind(in.kind)) return ErrnoStatus(EISDIR, "open " + in.name);
  auto h = std::make_shared<FileHandle>();
  OpenOut out;
  int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY || (flags & O_TRUNC)) {
    if (!Writable(in)) return ErrnoStatus(EROFS, "open for write " + in.name);
    AISLE_ASSIGN_OR_RETURN(h->spool, WriteSpool::Create(opts_.spool_dir));
    if (flags & O_TRUNC) {
      h->spool->MarkDirty();
      h->may_stream = true;
      in.attr.size = 0;
    } else if (in.attr.size > 0) {
      AISLE_RETURN_IF_ERROR(h->spool->LoadFrom(client_, RefOf(in), in.attr.size));
    }
    table_.SetAttr(ino, in.attr, Clock::now() + std::chrono::hours(24 * 365));
  } else {
    bool etl = in.loc.view == View::kEtl;
    PrefetchOptions po;
    po.max_window = std::max<uint64_t>(opts_.readahead, po.min_window);
    po.random_read = opts_.random_read;
    if (etl) {
      // A transform's output has no stable offsets: fetch it whole, once, per open.
      po.min_window = po.max_window = po.min_part = po.max_part = 1ull << 30;
      out.direct_io = true;
    }
    po.stream = !etl;  // sequential reads from one open range GET
    ObjectRef ref = RefOf(in);
    h->reader = std::make_unique<Prefetcher>(client_, pool_, buffers_, ref,
                                             etl ? UINT64_MAX : in.attr.size, po);
    out.keep_cache = !etl && !in.attr.version.empty() && in.served_version == in.attr.version;
    h->may_read_local = opts_.local_reads && ref.archpath.empty() && ref.etl_name.empty();
    if (batcher_ && !etl && batcher_->small(in.attr.size)) {
      // Fetched ahead at this version: served from memory. One still in flight is waited for
      // (its batch is on the wire); one still queued is cancelled and read as usual.
      h->cached =
          batch_cache_->Take(BatchKey(ref), in.attr.version, in.attr.size, std::chrono::seconds(2));
      if (h->cached) h->may_read_local = false;
      NoteOpen(in);
    }
    if (in.attr.size >= opts_.direct_io_from) {
      out.direct_io = true;  // the stream (or window) is then the only readahead
      out.keep_cache = false;
    }
    out.noflush = true;
    table_.SetServedVersion(ino, in.attr.version);
  }
  h->inode = in;
  out.fh = next_fh_++;
  std::lock_guard lk(mu_);
  if (h->spool) ++writers_[ino];
  files_[out.fh] = std::move(h);
  return out;
}

Result<size_t> Filesystem::Read(uint64_t fh, uint64_t offset, size_t n, char* out) {
  const char* view = out;
  std::shared_ptr<const void> hold;
  AISLE_ASSIGN_OR_RETURN(size_t k, ReadView(fh, offset, n, out, &view, &hold));
  if (view != out) std::memcpy(out, view, k);
  return k;
}

LocalObject* Filesystem::LocalOf(FileHandle& h) {
  if (!h.may_read_local || h.local_failed.load(std::memory_order_relaxed)) return nullptr;
  std::call_once(h.local_once, [&] {
    auto local = client_.OpenLocal(h.inode.loc.bucket, h.inode.loc.key);
    if (!local.ok()) return;
    // Changed since the attributes the kernel was given (size, keep_cache): another version
    // would mix with cached pages or be cut at the old size; the network path reads on.
    const Attr& a = h.inode.attr;
    if ((*local)->size() != a.size || (!a.version.empty() && (*local)->version() != a.version))
      return;
    h.local = std::move(local).value();
    metrics_->local_reads.Add();
  });
  return h.local.get();
}

std::optional<Result<size_t>> Filesystem::ReadLocal(FileHandle& h, uint64_t offset, size_t n,
                                                    char* out) {
  LocalObject* local = LocalOf(h);
  if (local == nullptr) return std::nullopt;
  auto r = local->ReadAt(offset, n, out);
  if (r.ok()) return Result<size_t>(static_cast<size_t>(*r));
  if (!h.local_failed.exchange(true))
    spdlog::warn("{}: {}; reading over the network", h.inode.name, r.status().ToString());
  return std::nullopt;
}

Result<std::optional<Filesystem::PipeRead>> Filesystem::ReadToPipe(uint64_t fh, uint64_t offset,
                                                                   size_t n, int pipe_wr) {
  auto h = GetHandle(fh);
  if (!h || h->spool || h->cached) return std::optional<PipeRead>();
  bool served = false, full = false;
  AISLE_ASSIGN_OR_RETURN(size_t k, h->reader->SpliceRead(offset, n, pipe_wr, &served, &full));
  if (!served) return std::optional<PipeRead>();
  return std::optional<PipeRead>(PipeRead{k, full});
}

std::optional<LocalObject::FileSpan> Filesystem::ReadSpan(uint64_t fh, uint64_t offset, size_t n,
                                                          std::shared_ptr<const void>* hold) {
  auto h = GetHandle(fh);
  if (!h || h->spool) return std::nullopt;
  LocalObject* local = LocalOf(*h);
  if (local == nullptr) return std::nullopt;
  LocalObject::FileSpan span = local->Span(offset, n);
  if (span.fd < 0) return std::nullopt;
  *hold = h;  // the handle owns the local object and with it the file
  return span;
}

Result<size_t> Filesystem::ReadView(uint64_t fh, uint64_t offset, size_t n, char* out,
                                    const char** view, std::shared_ptr<const void>* hold) {
  *view = out;
  auto h = GetHandle(fh);
  if (!h) return ErrnoStatus(EBADF, "read");
  if (h->spool) {
    std::lock_guard hl(h->mu);
    return h->spool->Read(offset, n, out);
  }
  if (h->cached) {
    const std::string& d = *h->cached;
    if (offset >= d.size()) return size_t{0};
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, d.size() - offset));
    *view = d.data() + offset;
    *hold = h->cached;
    return k;
  }
  if (auto r = ReadLocal(*h, offset, n, out)) return *r;
  return h->reader->Read(offset, n, out, view, hold);  // the prefetcher serialises itself
}

bool Filesystem::BatchDirOf(const Inode& dir, BatchDir* out) const {
  if (dir.loc.view == View::kEtl) return false;
  if (dir.kind == Kind::kShard) {
    if (dir.attr.version.empty()) return false;  // no version to tie cached members to
    out->bucket = dir.loc.bucket;
    out->shard = dir.loc.key;
    out->shard_version = dir.attr.version;
    out->shard_size = dir.attr.size;
    const std::string& k = dir.loc.key;
    out->plain_tar = k.size() > 4 && k.compare(k.size() - 4, 4, ".tar") == 0;
    return true;
  }
  if (Classify(dir) != DirClass::kObjectDir) return false;
  ListingSpec spec;
  std::string key;
  SpecFor(dir, &spec, &key);
  out->bucket = spec.bucket;
  out->object_prefix = spec.strip;
  return true;
}

void Filesystem::NoteOpen(const Inode& in) {
  auto parent = table_.Get(in.parent);
  BatchDir dir;
  if (!parent || !BatchDirOf(*parent, &dir)) return;
  std::shared_ptr<const DirListing> listing;
  ListingSpec spec;
  std::string key;
  SpecFor(*parent, &spec, &key);
  if (parent->kind == Kind::kShard) {
    listing = cache_.GetShardListing(spec.CacheKey(), parent->attr.version);
  } else {
    listing = cache_.GetListing(spec.CacheKey());
  }
  if (!listing) {
    // Listed off the reader's path; the opens that follow find it (and lookups use it).
    Inode p = *parent;
    batcher_->Post(dir.Key(), [this, p] {
      auto r = p.kind == Kind::kShard ? ShardMembers(p) : ListDir(p);
      if (!r.ok()) spdlog::debug("aisle-fs: prefetch listing: {}", r.status().ToString());
    });
    return;
  }
  const auto& es = listing->entries;
  auto it = std::lower_bound(es.begin(), es.end(), in.name,
                             [](const DirEntry& e, const std::string& n) { return e.name < n; });
  if (it == es.end() || it->name != in.name) return;
  batcher_->OnOpen(dir, listing, static_cast<size_t>(it - es.begin()));
}

void Filesystem::NoteListing(const Inode& dir, const std::shared_ptr<const DirListing>& listing) {
  BatchDir bd;
  if (batcher_ && listing && BatchDirOf(dir, &bd)) batcher_->OnListing(bd, listing);
}

Result<std::shared_ptr<const DirListing>> Filesystem::ShardMembers(const Inode& stale) {
  Inode shard = stale;
  if (shard.attr_expiry <= Clock::now() && shard.parent != 0) {
    if (auto gp = table_.Get(shard.parent)) {
      auto fresh = Resolve(*gp, shard.name, 0);
      if (fresh.ok() && fresh->ino == shard.ino) shard = *fresh;
    }
  }
  ListingSpec spec;
  std::string key;
  SpecFor(shard, &spec, &key);
  const std::string& v = shard.attr.version;
  if (v.empty()) {  // no version to tie the listing to: cached for the TTL, as directories
    if (auto l = cache_.GetListing(spec.CacheKey())) return l;
    AISLE_ASSIGN_OR_RETURN(auto l, FetchListing(client_, spec));
    cache_.PutListing(spec.CacheKey(), l);
    return l;
  }
  if (auto l = cache_.GetShardListing(spec.CacheKey(), v)) return l;
  AISLE_ASSIGN_OR_RETURN(auto fetched, FetchListing(client_, spec));
  // Members listed without a version carry the shard's: keep_cache and the prefetch cache
  // then hold per shard version.
  auto l = std::make_shared<DirListing>(*fetched);
  for (auto& e : l->entries)
    if (!e.is_dir && e.version.empty()) e.version = v;
  std::shared_ptr<const DirListing> out = l;
  cache_.PutShardListing(spec.CacheKey(), v, out, opts_.shard_listing_members);
  return out;
}

}  // namespace aisle::fs
