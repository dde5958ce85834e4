#include "server/storage/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/hrw.h"
#include "common/logging.h"
#include "common/names.h"
#include "server/storage/inplace_append.h"
#include "server/storage/meta_index.h"
#include "server/storage/read_guard.h"
#include "server/storage/record_codec.h"
#include "server/storage/work_dirs.h"

namespace aisle::storage {
namespace {

constexpr size_t kIoBuf = 1 << 20;
constexpr int kStripes = 64;
constexpr int64_t kAppendSessionTtlNs = int64_t{3600} * 1000000000;

char* IoBuffer() {
  static thread_local std::unique_ptr<char[]> buf(new char[kIoBuf]);
  return buf.get();
}

// fsync(fd) on a thread of its own, so a PUT's temp file and its index commit reach the disk
// side by side (Store::Impl::Commit); joined by Wait or on destruction.
class BackgroundFsync {
 public:
  BackgroundFsync(int fd, const std::string& path)
      : thread_([this, fd, path] { status_ = FsyncFile(fd, path); }) {}
  ~BackgroundFsync() { (void)Wait(); }
  Status Wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  Status status_;  // before thread_: set by it
  std::thread thread_;
};

std::string NameHash(std::string_view name) {
  XXH128_hash_t h = XXH3_128bits(name.data(), name.size());
  return Hex64(h.high64) + Hex64(h.low64);
}

Status BucketNotFound(std::string_view bucket) {
  return Status::NotFound("bucket \"" + BucketCname(bucket) + "\" does not exist")
      .WithSubject(Subject::kBucket);
}

Status ObjectNotFound(std::string_view bucket, std::string_view name) {
  return Status::NotFound(ObjectCname(bucket, name) + " does not exist")
      .WithSubject(Subject::kObject);
}

struct Mountpath {
  std::string root;
  uint64_t digest = 0;
  std::string TmpDir() const { return storage::TmpDir(root); }
  std::string TrashDir() const { return storage::TrashDir(root); }
  std::string BucketsDir() const { return root + "/ais"; }
  std::string BucketDir(std::string_view b) const { return BucketsDir() + "/" + std::string(b); }
};

// An object as the index has it, with the mountpath whose index (and directory) holds it.
struct Found {
  IndexEntry e;
  uint8_t mp = 0;
};

IndexEntry EntryOf(const ObjectMeta& m) {
  IndexEntry e{m.size, m.xxhash, m.version, m.mtime_ns, m.atime_ns, {}};
  for (const auto& [k, v] : m.custom)
    if (k == kCustomS3Etag) e.etag = v;
  return e;
}

// Pending records (MetaIndex table kPending): a file step that follows a durable index change
// and that Open finishes after a crash (docs/INTERNALS.md, "Object index").
enum class PendingKind : uint32_t {
  kPut = 1,     // rename `path` (the durable temp file) into place if still there; drop
                // the copy on old_mp (another mountpath) and its entry
  kDelete = 2,  // unlink `path` (the object file) if still there
  kCheck = 3,   // an in-place append: set the entry from the file's header
};
constexpr uint32_t kNoMp = 0xffffffff;

struct Pending {
  PendingKind kind = PendingKind::kPut;
  uint64_t seq = 0;
  uint32_t old_mp = kNoMp;
  std::string bucket, name, path;
};

std::string EncodePending(const Pending& p) {
  std::string v;
  Put32(&v, static_cast<uint32_t>(p.kind));
  Put64(&v, p.seq);
  Put32(&v, p.old_mp);
  PutStr(&v, p.bucket);
  PutStr(&v, p.name);
  PutStr(&v, p.path);
  return v;
}

bool DecodePending(std::string_view v, Pending* p) {
  RecordReader r(v);
  uint32_t kind;
  if (!r.U32(&kind) || !r.U64(&p->seq) || !r.U32(&p->old_mp) || !r.Str(&p->bucket) ||
      !r.Str(&p->name) || !r.Str(&p->path) || !r.AtEnd())
    return false;
  p->kind = static_cast<PendingKind>(kind);
  return true;
}

struct Bucket {
  std::string name;
  int64_t created_ns = 0;
  mutable std::shared_mutex mu;  // guards destroyed
  bool destroyed = false;
  // Serialise commits (index update + rename) per name.
  std::mutex stripes[kStripes];
  std::mutex& Stripe(std::string_view name) {
    return stripes[XXH3_64bits(name.data(), name.size()) % kStripes];
  }
};

struct AppendSession {
  std::mutex mu;
  std::string bucket, name;
  uint8_t mp = 0;
  std::string tmp_path;
  FileHandle fd;
  Xxh64Stream hash;
  uint64_t size = 0;
  uint32_t header_len = 0;
  std::vector<std::pair<std::string, std::string>> custom;
  int64_t last_used_ns = 0;
};

// A temp work file that is unlinked unless committed (or abandoned by a simulated crash).
struct TempFile {
  std::string path;
  FileHandle fd;
  bool keep = false;
  TempFile() = default;
  TempFile(TempFile&&) = default;
  ~TempFile() {
    if (!keep && !path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

struct Store::Impl {
  StoreOptions opts;
  std::vector<Mountpath> mps;
  std::vector<std::string> mp_roots;

  mutable std::shared_mutex buckets_mu;
  std::map<std::string, std::shared_ptr<Bucket>, std::less<>> buckets;
  std::mutex admin_mu;  // serialises bucket create/destroy

  std::mutex hook_mu;
  FaultHook hook;

  std::mutex append_mu;
  std::map<std::string, std::shared_ptr<AppendSession>> appends;

  std::shared_ptr<GuardTable> guards = std::make_shared<GuardTable>();

  // One persistent index per mountpath (meta_index.h), same order as mps.
  std::vector<std::unique_ptr<MetaIndex>> index;
  // PUTs acknowledged before their rename is durable (docs/INTERNALS.md, "Object index"):
  // their pending records stay until the directories are fsynced, a batch at a time.
  struct UnsyncedDirs {
    std::mutex mu;
    std::vector<std::string> dirs;
    std::vector<IndexOp> clears;  // the pending records to drop once the dirs are durable
  };
  std::vector<std::unique_ptr<UnsyncedDirs>> unsynced;  // per mountpath
  static constexpr size_t kDirSyncBatch = 1024;         // <= 256 dirs per bucket: ~4 PUTs a dir
  std::atomic<uint64_t> pending_seq{static_cast<uint64_t>(NowNs())};

  bool Destroyed(const Bucket& b) const {
    std::shared_lock<std::shared_mutex> l(b.mu);
    return b.destroyed;
  }

  // The object's entry. Writes always go to the HRW mountpath, so its entry is the current
  // one; an entry elsewhere is a copy left from before the mountpaths changed (newest wins).
  Result<std::optional<Found>> Lookup(std::string_view bucket, std::string_view name) const {
    std::string key = ObjectKey(bucket, name);
    uint8_t first = PickMountpath(bucket, name);
    std::optional<Found> best;
    for (size_t n = 0; n < mps.size(); ++n) {
      uint8_t i = n == 0 ? first : static_cast<uint8_t>(n <= first ? n - 1 : n);
      AISLE_ASSIGN_OR_RETURN(std::optional<std::string> v,
                             index[i]->Get(IndexTable::kObjects, key));
      if (!v) continue;
      Found f;
      std::string got;
      if (!DecodeEntry(key, *v, bucket.size(), &f.e, &got) || got != name) continue;
      f.mp = i;
      if (i == first) return std::optional<Found>(f);
      if (!best || f.e.version > best->e.version) best = f;
    }
    return best;
  }

  Pending NewPending(PendingKind kind, std::string_view bucket, std::string_view name,
                     std::string path) {
    Pending p;
    p.kind = kind;
    p.seq = pending_seq.fetch_add(1);
    p.bucket = std::string(bucket);
    p.name = std::string(name);
    p.path = std::move(path);
    return p;
  }

  FaultResult Fault(std::string_view step) {
    std::lock_guard<std::mutex> l(hook_mu);
    return hook ? hook(step) : FaultResult();
  }

  std::shared_ptr<Bucket> FindBucket(std::string_view name) const {
    std::shared_lock<std::shared_mutex> l(buckets_mu);
    auto it = buckets.find(name);
    return it == buckets.end() ? nullptr : it->second;
  }

  uint8_t PickMountpath(std::string_view bucket, std::string_view name) const {
    if (mps.size() == 1) return 0;
    uint64_t digest = HrwDigest(MakeUname(bucket, name));
    uint8_t best = 0;
    uint64_t best_score = 0;
    for (size_t i = 0; i < mps.size(); ++i) {
      uint64_t s = HrwScore(mps[i].digest, digest);
      if (i == 0 || s >= best_score) {
        best = static_cast<uint8_t>(i);
        best_score = s;
      }
    }
    return best;
  }

  std::string ObjectDir(uint8_t mp, std::string_view bucket, const std::string& hash) const {
    return mps[mp].BucketDir(bucket) + "/" + hash.substr(0, 2);
  }
  std::string ObjectPath(uint8_t mp, std::string_view bucket, std::string_view name) const {
    std::string h = NameHash(name);
    return ObjectDir(mp, bucket, h) + "/" + h;
  }

  Result<TempFile> CreateTemp(uint8_t mp) {
    TempFile t;
    t.path = mps[mp].TmpDir() + "/" + RandomHex(16);
    AISLE_ASSIGN_OR_RETURN(t.fd, OpenFile(t.path, O_CREAT | O_EXCL | O_RDWR, 0644));
    return t;
  }

  // Writes the header, fsyncs, records the object in the index (durable, with a pending
  // record), renames into place, fsyncs the directory, clears the pending record. On return OK
  // the object is durable. Crash ordering: docs/INTERNALS.md, "Object index".
  Status Commit(Bucket& b, uint8_t mp, TempFile& tmp, ObjectMeta& meta, uint32_t header_len) {
    bool preset_version = meta.version != 0;  // intra-cluster copies keep the source's
    auto next_version = [&]() -> Result<uint64_t> {
      AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, Lookup(b.name, meta.name));
      return cur ? cur->e.version + 1 : uint64_t{1};
    };
    if (Destroyed(b)) return BucketNotFound(b.name);
    if (!preset_version) {
      AISLE_ASSIGN_OR_RETURN(meta.version, next_version());
    }
    std::string header = EncodeHeader(meta);
    if (header.size() != header_len)
      return Status::Internal("object header length changed while writing");
    AISLE_RETURN_IF_ERROR(PwriteAll(tmp.fd.get(), header.data(), header.size(), 0, tmp.path));
    if (FaultResult f = Fault("put.fsync"); !f.ok()) {
      tmp.keep = f.crash;
      return f.status;
    }
    // The temp file's fsync overlaps the index commit below (one disk flush less on the
    // path); a power loss between them leaves an entry whose temp file may be torn, which
    // start checks against the entry (ReplayPending). Done before the object is visible.
    std::optional<BackgroundFsync> data_sync;
    data_sync.emplace(tmp.fd.get(), tmp.path);
    if (FaultResult f = Fault("put.rename"); !f.ok()) {
      tmp.keep = f.crash;
      return f.status;
    }
    std::string hash = NameHash(meta.name);
    std::string dir = ObjectDir(mp, b.name, hash);
    std::string path = dir + "/" + hash;
    std::string key = ObjectKey(b.name, meta.name);
    std::string old_dir;
    uint32_t old_mp = kNoMp;
    std::string pending;
    {
      std::lock_guard<std::mutex> stripe(b.Stripe(meta.name));
      if (Destroyed(b)) return BucketNotFound(b.name);
      AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, Lookup(b.name, meta.name));
      // A concurrent writer of the same name committed meanwhile: take the next version.
      // Rare (contended names only), so the extra fsync is paid only then.
      uint64_t want = cur ? cur->e.version + 1 : 1;
      if (!preset_version && want != meta.version) {
        AISLE_RETURN_IF_ERROR(data_sync->Wait());
        meta.version = want;
        header = EncodeHeader(meta);
        AISLE_RETURN_IF_ERROR(PwriteAll(tmp.fd.get(), header.data(), header.size(), 0, tmp.path));
        AISLE_RETURN_IF_ERROR(FsyncFile(tmp.fd.get(), tmp.path));
      }
      if (cur && cur->mp != mp) old_mp = cur->mp;
      Pending p = NewPending(PendingKind::kPut, b.name, meta.name, tmp.path);
      p.old_mp = old_mp;
      pending = EncodePending(p);
      AISLE_RETURN_IF_ERROR(index[mp]->Commit(
          {IndexOp::Put(IndexTable::kObjects, key, EncodeEntry(EntryOf(meta), meta.name)),
           IndexOp::Put(IndexTable::kPending, key, pending)}));
      // Past this point the object exists; failing now means putting the index back.
      auto undo = [&] {
        std::vector<IndexOp> ops{IndexOp::Del(IndexTable::kPending, key, pending)};
        if (cur && cur->mp == mp)
          ops.push_back(IndexOp::Put(IndexTable::kObjects, key, EncodeEntry(cur->e, meta.name)));
        else
          ops.push_back(IndexOp::Del(IndexTable::kObjects, key));
        Status st = index[mp]->Commit(std::move(ops));
        if (!st.ok()) spdlog::error("put {}: restoring the index: {}", meta.name, st.ToString());
      };
      if (Status st = data_sync->Wait(); !st.ok()) {
        undo();
        return st;
      }
      if (FaultResult f = Fault("put.index"); !f.ok()) {
        if (f.crash) {
          tmp.keep = true;
        } else {
          undo();
        }
        return f.status;
      }
      if (Status st = RenameFile(tmp.path, path); !st.ok()) {
        undo();
        return st;
      }
      tmp.keep = true;
      if (old_mp != kNoMp) {
        old_dir = ObjectDir(static_cast<uint8_t>(old_mp), b.name, hash);
        ::unlink((old_dir + "/" + hash).c_str());
      }
    }
    // Until the pending record is cleared, a restart finishes (or re-checks) this commit.
    if (FaultResult f = Fault("put.dirsync"); !f.ok()) return f.status;
    if (old_dir.empty()) {
      // The object is durable already: its data (fsynced temp file) and its entry and
      // pending record (in the index); a lost rename is redone at start. So the directory
      // fsync waits for a batch, and the record is dropped after it.
      NoteUnsynced(mp, std::move(dir), IndexOp::Del(IndexTable::kPending, key, pending));
      return Status::OK();
    }
    AISLE_RETURN_IF_ERROR(FsyncDir(dir));
    AISLE_RETURN_IF_ERROR(FsyncDir(old_dir));
    AISLE_RETURN_IF_ERROR(index[old_mp]->Commit({IndexOp::Del(IndexTable::kObjects, key)}));
    index[mp]->Defer({IndexOp::Del(IndexTable::kPending, key, pending)});
    return Status::OK();
  }

  void NoteUnsynced(uint8_t mp, std::string dir, IndexOp clear) {
    UnsyncedDirs& u = *unsynced[mp];
    std::unique_lock<std::mutex> l(u.mu);
    u.dirs.push_back(std::move(dir));
    u.clears.push_back(std::move(clear));
    if (u.dirs.size() < kDirSyncBatch) return;
    l.unlock();
    SyncDirs(mp);
  }

  // Fsyncs the directories of acknowledged renames, then lets the next index commit drop
  // their pending records. On an error the records stay (a restart redoes the renames).
  void SyncDirs(uint8_t mp) {
    UnsyncedDirs& u = *unsynced[mp];
    std::vector<std::string> dirs;
    std::vector<IndexOp> clears;
    {
      std::lock_guard<std::mutex> l(u.mu);
      dirs.swap(u.dirs);
      clears.swap(u.clears);
    }
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    for (const std::string& d : dirs) {
      if (!PathExists(d)) continue;  // its bucket was destroyed meanwhile
      if (Status st = FsyncDir(d); !st.ok()) {
        spdlog::error("object index of {}: {}", mps[mp].root, st.ToString());
        return;
      }
    }
    index[mp]->Defer(std::move(clears));
  }

  // What every kind of Put starts from: the checked name, its bucket, the new object's
  // metadata before its data (name and sorted custom) and the header length (the data offset).
  struct NewObject {
    std::shared_ptr<Bucket> bucket;
    std::string what;
    ObjectMeta meta;
    uint32_t hlen = 0;
  };
  Result<NewObject> StartPut(std::string_view bucket, std::string_view name,
                             const PutOptions& opts) {
    AISLE_RETURN_IF_ERROR(ValidateObjectName(name));
    NewObject n;
    n.bucket = FindBucket(bucket);
    if (!n.bucket) return BucketNotFound(bucket);
    n.what = ObjectCname(bucket, name);
    n.meta.name = std::string(name);
    n.meta.custom = opts.custom;
    std::sort(n.meta.custom.begin(), n.meta.custom.end());
    size_t hlen = EncodedHeaderLen(n.meta);
    if (hlen > kMaxHeaderLen) return Status::TooLarge(n.what + ": custom metadata too large");
    n.hlen = static_cast<uint32_t>(hlen);
    return n;
  }

  Status CheckSize(uint64_t size, const std::string& what) const {
    if (opts.max_object_size && size > opts.max_object_size)
      return Status::TooLarge("put " + what + ": object larger than " +
                              std::to_string(opts.max_object_size) + " bytes");
    return Status::OK();
  }

  // The end of every Put: meta (size and xxhash set) checked and completed from opts, then
  // committed.
  Status Seal(Bucket& b, uint8_t mp, TempFile& tmp, ObjectMeta& meta, uint32_t hlen,
              const PutOptions& popts, const std::string& what) {
    if (popts.expected_xxhash && *popts.expected_xxhash != meta.xxhash) {
      return Status::DataCorruption("BAD DATA CHECKSUM: " + what + ": xxhash(" +
                                    Hex64(*popts.expected_xxhash) + " != " + Hex64(meta.xxhash) +
                                    ")");
    }
    meta.mtime_ns = meta.atime_ns = NowNs();
    if (popts.mtime_ns) meta.mtime_ns = *popts.mtime_ns;
    meta.version = popts.version.value_or(0);  // 0: next after the current one
    if (popts.finalize) {
      AISLE_RETURN_IF_ERROR(popts.finalize(meta));
      std::sort(meta.custom.begin(), meta.custom.end());
      if (EncodedHeaderLen(meta) != hlen)
        return Status::Internal("put " + what + ": finalize changed the header length");
    }
    return Commit(b, mp, tmp, meta, hlen).WithContext("put " + what);
  }

  // Copies n data bytes from src (at src_off) to dst (at dst_off), hashing them.
  Status CopyData(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t n,
                  Xxh64Stream* hash, const std::string& what) {
    char* buf = IoBuffer();
    while (n > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(n, kIoBuf));
      AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(src, buf, want, src_off, what));
      if (got == 0) return Status::DataCorruption(what + ": object shorter than its metadata");
      if (hash) hash->Update(buf, got);
      AISLE_RETURN_IF_ERROR(PwriteAll(dst, buf, got, dst_off, what));
      src_off += got;
      dst_off += got;
      n -= got;
    }
    return Status::OK();
  }

  // Rewrites an existing object under a (possibly new) name with new custom metadata.
  Status Rewrite(Bucket& b, const ObjectReader& src, std::string_view new_name,
                 std::vector<std::pair<std::string, std::string>> custom) {
    ObjectMeta meta = src.meta;
    meta.name = std::string(new_name);
    meta.custom = std::move(custom);
    std::sort(meta.custom.begin(), meta.custom.end());
    meta.mtime_ns = NowNs();
    meta.version = 0;  // next after the destination's current version
    uint8_t mp = PickMountpath(b.name, meta.name);
    AISLE_ASSIGN_OR_RETURN(TempFile tmp, CreateTemp(mp));
    uint32_t hlen = static_cast<uint32_t>(EncodedHeaderLen(meta));
    AISLE_RETURN_IF_ERROR(CopyData(src.file->get(), src.data_offset, tmp.fd.get(), hlen, meta.size,
                                   nullptr, ObjectCname(b.name, meta.name)));
    return Commit(b, mp, tmp, meta, hlen);
  }

  Status LoadMountpath(uint8_t mp_idx);

  // Background verification after an unclean shutdown (docs/INTERNALS.md, "Object index"):
  // compares the object files and the index at a bounded rate while the store serves.
  std::thread verifier;
  std::atomic<bool> stop_verify{false};
  ~Impl() {
    stop_verify = true;
    if (verifier.joinable()) verifier.join();
    for (size_t i = 0; i < unsynced.size() && i < index.size(); ++i)
      SyncDirs(static_cast<uint8_t>(i));
  }
  void Verify();
  bool Pace(uint64_t done, std::chrono::steady_clock::time_point t0);
  int VerifyFile(uint8_t mp, Bucket& b, const std::string& path, const std::string& file);
  int VerifyEntry(uint8_t mp, Bucket& b, std::string_view name);
  Status BuildIndex(uint8_t mp_idx, const std::vector<std::string>& buckets, uint64_t* count);
  Status ReplayPending(uint8_t mp_idx, size_t* replayed);
  Status DropStaleBuckets(uint8_t mp_idx);
};

// ---- loading ------------------------------------------------------------------------------

namespace {

Status ReadHeader(int fd, const std::string& path, ObjectMeta* meta, uint32_t* hlen,
                  std::string* small_data = nullptr) {
  // One read covers the header and, for small objects, all of the data.
  constexpr size_t kFirstRead = kHeaderAlign + kSmallObject;
  static thread_local std::unique_ptr<char[]> first(new char[kFirstRead]);
  AISLE_ASSIGN_OR_RETURN(
      size_t got, PreadUpTo(fd, first.get(), small_data ? kFirstRead : kHeaderAlign, 0, path));
  std::string_view prefix(first.get(), got);
  uint32_t need = 0;
  AISLE_RETURN_IF_ERROR(DecodeHeader(prefix, meta, hlen, &need).WithContext(path));
  if (need == 0) {
    if (small_data && meta->size <= kSmallObject && prefix.size() >= *hlen + meta->size)
      small_data->assign(prefix.substr(*hlen, meta->size));
    return Status::OK();
  }
  std::string buf;
  {
    buf.resize(need);
    AISLE_ASSIGN_OR_RETURN(got, PreadUpTo(fd, buf.data(), need, 0, path));
    buf.resize(got);
    AISLE_RETURN_IF_ERROR(DecodeHeader(buf, meta, hlen, &need).WithContext(path));
    if (need > 0) return Status::DataCorruption(path + ": truncated header");
  }
  return Status::OK();
}

}  // namespace

// Whether the file at `path` is object `name` as entry `e` describes it (header); with
// check_data also its length and data checksum (a temp file whose fsync may not have finished).
bool FileHolds(const std::string& path, const std::string& name, const IndexEntry& e,
               bool check_data) {
  auto fh = OpenFile(path, O_RDONLY);
  ObjectMeta meta;
  uint32_t hlen = 0;
  if (!fh.ok() || !ReadHeader(fh->get(), path, &meta, &hlen).ok()) return false;
  if (meta.name != name || meta.version != e.version || meta.size != e.size ||
      meta.xxhash != e.xxhash)
    return false;
  if (!check_data) return true;
  struct stat sb;
  if (::fstat(fh->get(), &sb) != 0 || static_cast<uint64_t>(sb.st_size) != hlen + meta.size)
    return false;
  Xxh64Stream hash;
  char* buf = IoBuffer();
  for (uint64_t off = hlen, left = meta.size; left > 0;) {
    auto got =
        PreadUpTo(fh->get(), buf, static_cast<size_t>(std::min<uint64_t>(left, kIoBuf)), off, path);
    if (!got.ok() || *got == 0) return false;
    hash.Update(buf, *got);
    off += *got;
    left -= *got;
  }
  return hash.Digest() == meta.xxhash;
}

// Indexes every object file of the mountpath (a data directory from before the index, or a
// damaged index): the only full scan, done once.
Status Store::Impl::BuildIndex(uint8_t mp_idx, const std::vector<std::string>& bnames,
                               uint64_t* count) {
  constexpr size_t kBatch = 10000;
  MetaIndex& idx = *index[mp_idx];
  AISLE_RETURN_IF_ERROR(idx.Clear(IndexTable::kObjects));
  AISLE_RETURN_IF_ERROR(idx.Clear(IndexTable::kPending));
  std::vector<IndexOp> batch;
  for (const std::string& bname : bnames) {
    std::string bdir = mps[mp_idx].BucketDir(bname);
    for (const std::string& hh : ListDirNames(bdir)) {
      if (hh.size() != 2) continue;
      std::string dir = bdir + "/" + hh;
      for (const std::string& file : ListDirNames(dir)) {
        std::string path = dir + "/" + file;
        auto fh = OpenFile(path, O_RDONLY);
        if (!fh.ok()) continue;
        ObjectMeta meta;
        uint32_t hlen = 0;
        Status st = ReadHeader(fh->get(), path, &meta, &hlen);
        if (!st.ok()) {
          spdlog::error("skipping unreadable object file: {}", st.ToString());
          continue;
        }
        if (NameHash(meta.name) != file) {
          spdlog::error("skipping misplaced object file {} (holds {})", path, meta.name);
          continue;
        }
        batch.push_back(IndexOp::Put(IndexTable::kObjects, ObjectKey(bname, meta.name),
                                     EncodeEntry(EntryOf(meta), meta.name)));
        ++*count;
        if (batch.size() == kBatch) AISLE_RETURN_IF_ERROR(idx.Commit(std::exchange(batch, {})));
      }
    }
  }
  batch.push_back(IndexOp::Put(IndexTable::kMeta, "built", "1"));
  return idx.Commit(std::move(batch));
}

// Finishes the file steps of index changes a crash interrupted (see Commit and Delete). Each
// is idempotent; a record is dropped once done.
Status Store::Impl::ReplayPending(uint8_t mp_idx, size_t* replayed) {
  MetaIndex& idx = *index[mp_idx];
  std::vector<std::pair<std::string, std::string>> recs;
  AISLE_RETURN_IF_ERROR(idx.Scan(IndexTable::kPending, "", [&](auto k, auto v) {
    recs.emplace_back(std::string(k), std::string(v));
    return true;
  }));
  std::set<std::string> dirs;  // fsynced once each, before the records go
  std::vector<IndexOp> done;
  for (const auto& [key, val] : recs) {
    Pending p;
    if (!DecodePending(val, &p)) {
      spdlog::error("object index of {}: dropping an unreadable pending record", mps[mp_idx].root);
    } else {
      std::string hash = NameHash(p.name);
      std::string dir = ObjectDir(mp_idx, p.bucket, hash);
      std::string path = dir + "/" + hash;
      Status st;
      // Sets the entry from the object file in place (or drops it when there is none).
      // `key` is a structured binding: captured by name, since clang 14 (fuzz and clang-tidy
      // builds) cannot capture one with [&].
      auto entry_from_file = [&, &key = key] {
        ObjectMeta meta;
        uint32_t hlen = 0;
        auto fh = OpenFile(path, O_RDONLY);
        if (fh.ok() && ReadHeader(fh->get(), path, &meta, &hlen).ok() && meta.name == p.name)
          return idx.Commit(
              {IndexOp::Put(IndexTable::kObjects, key, EncodeEntry(EntryOf(meta), meta.name))});
        return idx.Commit({IndexOp::Del(IndexTable::kObjects, key)});
      };
      switch (p.kind) {
        case PendingKind::kPut: {
          // The temp file's fsync ran beside the index commit: the entry is only as good as
          // the file it names (the temp file, or the object file once renamed).
          IndexEntry want;
          auto cur = idx.Get(IndexTable::kObjects, key);
          bool has = cur.ok() && *cur && DecodeEntry(key, **cur, p.bucket.size(), &want, nullptr);
          if (PathExists(p.path) && PathExists(dir)) {
            // Not renamed (or the rename was lost): roll forward if the data is whole.
            if (!has || FileHolds(p.path, p.name, want, true)) {
              st = RenameFile(p.path, path);
            } else {
              ::unlink(p.path.c_str());  // never acknowledged: back to the object in place
              st = entry_from_file();
            }
          } else if (has && !FileHolds(path, p.name, want, false)) {
            st = entry_from_file();  // the temp file never became durable
          }
          if (st.ok() && PathExists(dir)) dirs.insert(dir);
          if (st.ok() && p.old_mp < mps.size() && p.old_mp != mp_idx) {
            std::string old_dir = ObjectDir(static_cast<uint8_t>(p.old_mp), p.bucket, hash);
            ::unlink((old_dir + "/" + hash).c_str());
            if (PathExists(old_dir)) st = FsyncDir(old_dir);
            if (st.ok()) st = index[p.old_mp]->Commit({IndexOp::Del(IndexTable::kObjects, key)});
          }
          break;
        }
        case PendingKind::kDelete:
          ::unlink(p.path.c_str());
          if (PathExists(dir)) dirs.insert(dir);
          break;
        case PendingKind::kCheck: {
          // An in-place append: undo records are rolled back already, so the header is the
          // version that survived.
          st = entry_from_file();
          break;
        }
      }
      if (!st.ok()) {
        spdlog::error("finishing an interrupted write of {}: {}", ObjectCname(p.bucket, p.name),
                      st.ToString());
      }
    }
    done.push_back(IndexOp::Del(IndexTable::kPending, key, val));
    ++*replayed;
  }
  for (const std::string& d : dirs) AISLE_RETURN_IF_ERROR(FsyncDir(d));
  return done.empty() ? Status::OK() : idx.Commit(std::move(done));
}

// Entries of buckets that are gone (a crash while destroying one): one seek per bucket.
Status Store::Impl::DropStaleBuckets(uint8_t mp_idx) {
  MetaIndex& idx = *index[mp_idx];
  std::string from;
  for (;;) {
    std::optional<std::string> bucket;
    AISLE_RETURN_IF_ERROR(idx.Scan(IndexTable::kObjects, from, [&](auto k, auto) {
      bucket = std::string(k.substr(0, k.find('\0')));
      return false;
    }));
    if (!bucket) return Status::OK();
    if (!FindBucket(*bucket)) {
      spdlog::warn("object index of {}: dropping entries of removed bucket {}", mps[mp_idx].root,
                   BucketCname(*bucket));
      AISLE_RETURN_IF_ERROR(idx.DeletePrefix(IndexTable::kObjects, BucketKeyPrefix(*bucket)));
      AISLE_RETURN_IF_ERROR(idx.DeletePrefix(IndexTable::kPending, BucketKeyPrefix(*bucket)));
    }
    from = *bucket + '\1';
  }
}

Status Store::Impl::LoadMountpath(uint8_t mp_idx) {
  const Mountpath& mp = mps[mp_idx];
  for (const std::string& name : ListDirNames(mp.BucketsDir())) {
    std::string dir = mp.BucketDir(name);
    if (name[0] == '.') {  // an interrupted bucket creation
      AISLE_RETURN_IF_ERROR(RemoveTree(dir));
      continue;
    }
    if (!ValidateBucketName(name).ok()) continue;
    std::shared_ptr<Bucket> b;
    {
      std::unique_lock<std::shared_mutex> l(buckets_mu);
      auto& slot = buckets[name];
      if (!slot) {
        slot = std::make_shared<Bucket>();
        slot->name = name;
        struct stat st;
        if (::stat((dir + "/.props").c_str(), &st) == 0)
          slot->created_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      }
    }
  }
  return Status::OK();
}

// ---- background verification ------------------------------------------------------------

namespace {
constexpr uint64_t kVerifyPerSecond = 20000;  // files and entries checked per second
}  // namespace

// Sleeps so that `done` items took at least done / kVerifyPerSecond; false when stopping.
bool Store::Impl::Pace(uint64_t done, std::chrono::steady_clock::time_point t0) {
  auto due = t0 + std::chrono::microseconds(done * 1000000 / kVerifyPerSecond);
  while (!stop_verify && std::chrono::steady_clock::now() < due)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !stop_verify;
}

// A file the index does not describe (absent, or another version) is indexed from its header.
// Checked again under the name's commit lock, where file and index change together. Returns 1
// when it repaired something.
int Store::Impl::VerifyFile(uint8_t mp, Bucket& b, const std::string& path,
                            const std::string& file) {
  auto check = [&](bool fix) -> int {
    auto fh = OpenFile(path, O_RDONLY);
    if (!fh.ok()) return 0;  // deleted meanwhile
    ObjectMeta meta;
    uint32_t hlen = 0;
    if (!ReadHeader(fh->get(), path, &meta, &hlen).ok() || NameHash(meta.name) != file) return 0;
    auto cur = Lookup(b.name, meta.name);
    if (!cur.ok()) return 0;
    if (*cur &&
        ((*cur)->mp != mp || ((*cur)->e.version == meta.version && (*cur)->e.size == meta.size &&
                              (*cur)->e.xxhash == meta.xxhash)))
      return 0;  // agrees (or this is an older copy on another mountpath)
    if (!fix) return 1;
    if (Destroyed(b)) return 0;
    Status st = index[mp]->Commit({IndexOp::Put(IndexTable::kObjects, ObjectKey(b.name, meta.name),
                                                EncodeEntry(EntryOf(meta), meta.name))});
    if (!st.ok()) return 0;
    spdlog::warn("verification: indexed {} from its file (version {})",
                 ObjectCname(b.name, meta.name), meta.version);
    return 1;
  };
  if (check(false) == 0) return 0;
  // The name is known only from the header: lock its stripe and look again.
  ObjectMeta meta;
  uint32_t hlen = 0;
  auto fh = OpenFile(path, O_RDONLY);
  if (!fh.ok() || !ReadHeader(fh->get(), path, &meta, &hlen).ok()) return 0;
  std::lock_guard<std::mutex> stripe(b.Stripe(meta.name));
  return check(true);
}

// An entry whose file is gone is removed (under the name's commit lock).
int Store::Impl::VerifyEntry(uint8_t mp, Bucket& b, std::string_view name) {
  std::string path = ObjectPath(mp, b.name, name);
  if (PathExists(path)) return 0;
  std::lock_guard<std::mutex> stripe(b.Stripe(name));
  auto cur = Lookup(b.name, name);
  if (!cur.ok() || !*cur || (*cur)->mp != mp || PathExists(path)) return 0;
  if (!index[mp]->Commit({IndexOp::Del(IndexTable::kObjects, ObjectKey(b.name, name))}).ok())
    return 0;
  spdlog::warn("verification: dropped {} from the index (no file)", ObjectCname(b.name, name));
  return 1;
}

void Store::Impl::Verify() {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0, fixed = 0;
  spdlog::info("verification of the object index against the object files started");
  std::vector<std::string> names;
  {
    std::shared_lock<std::shared_mutex> l(buckets_mu);
    for (const auto& [name, b] : buckets) names.push_back(name);
  }
  for (size_t i = 0; i < mps.size(); ++i) {
    auto mp = static_cast<uint8_t>(i);
    for (const std::string& bname : names) {
      std::shared_ptr<Bucket> b = FindBucket(bname);
      if (!b) continue;
      std::string bdir = mps[mp].BucketDir(bname);
      // Files -> index.
      for (const std::string& hh : ListDirNames(bdir)) {
        if (hh.size() != 2) continue;
        for (const std::string& file : ListDirNames(bdir + "/" + hh)) {
          if (!Pace(++done, t0)) return;
          fixed += VerifyFile(mp, *b, bdir + "/" + hh + "/" + file, file);
        }
      }
      // Index -> files, a page of keys at a time.
      const std::string prefix = BucketKeyPrefix(bname);
      std::string from = prefix;
      for (bool more = true; more;) {
        std::vector<std::string> page;
        std::string last;
        Status st = index[mp]->Scan(IndexTable::kObjects, from, [&](auto k, auto v) {
          if (k.compare(0, prefix.size(), prefix) != 0) return false;
          if (k == from && from != prefix) return true;
          IndexEntry e;
          std::string name;
          if (DecodeEntry(k, v, bname.size(), &e, &name)) page.push_back(std::move(name));
          last = std::string(k);
          return page.size() < 1000;
        });
        more = st.ok() && page.size() == 1000;
        from = last;
        for (const std::string& name : page) {
          if (!Pace(++done, t0)) return;
          fixed += VerifyEntry(mp, *b, name);
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::warn(
      "verification of the object index done: {} files and entries checked, {} "
      "repaired, {:.1f} s",
      done, fixed, secs);
}

// ---- Store --------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.mountpaths.empty()) return Status::InvalidArgument("no mountpaths configured");
  if (options.mountpaths.size() > 255) return Status::InvalidArgument("too many mountpaths");
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  for (const auto& root_in : options.mountpaths) {
    std::string root = root_in;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    AISLE_RETURN_IF_ERROR(MakeDirs(root));
    char real[PATH_MAX];
    if (::realpath(root.c_str(), real) == nullptr)
      return Status::FromErrno(errno, "realpath " + root);
    root = real;
    for (const auto& m : impl->mps) {
      if (m.root == root) return Status::InvalidArgument("mountpath listed twice: " + root);
    }
    Mountpath mp;
    mp.root = root;
    mp.digest = HrwDigest(root);
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.BucketsDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TmpDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TrashDir()));
    // Interrupted in-place appends: back to the old version before any header is read.
    AISLE_RETURN_IF_ERROR(MakeDirs(UndoDir(root)));
    AISLE_RETURN_IF_ERROR(inplace::Recover(root));
    impl->mp_roots.push_back(root);
    impl->mps.push_back(std::move(mp));
  }
  // The object indexes; interrupted commits are finished before temp files are removed (a
  // committed PUT may still be a temp file).
  std::vector<MetaIndex::OpenInfo> infos(impl->mps.size());
  for (size_t i = 0; i < impl->mps.size(); ++i) {
    const std::string& root = impl->mps[i].root;
    AISLE_ASSIGN_OR_RETURN(
        auto idx, MetaIndex::Open(IndexDir(root), &infos[i], options.index_resident_bytes));
    if (!infos[i].damaged.empty())
      spdlog::error(
          "object index of {} is unreadable ({}): set aside, rebuilding it from the "
          "object files",
          root, infos[i].damaged);
    impl->index.push_back(std::move(idx));
    impl->unsynced.push_back(std::make_unique<Impl::UnsyncedDirs>());
  }
  for (size_t i = 0; i < impl->mps.size(); ++i) {
    if (!infos[i].built) continue;
    size_t replayed = 0;
    AISLE_RETURN_IF_ERROR(impl->ReplayPending(static_cast<uint8_t>(i), &replayed));
    if (!infos[i].clean || replayed > 0)
      spdlog::warn("object index of {}: unclean shutdown; finished {} pending writes",
                   impl->mps[i].root, replayed);
  }
  for (auto& mp : impl->mps) {
    // Leftovers of interrupted writes and bucket destroys.
    AISLE_RETURN_IF_ERROR(RemoveTree(mp.TmpDir()));
    AISLE_RETURN_IF_ERROR(RemoveTree(mp.TrashDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TmpDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TrashDir()));
  }
  for (size_t i = 0; i < impl->mps.size(); ++i)
    AISLE_RETURN_IF_ERROR(impl->LoadMountpath(static_cast<uint8_t>(i)));
  // Make every bucket whole on every mountpath (a crash may have left one half-created).
  std::vector<std::string> names;
  for (auto& [name, b] : impl->buckets) names.push_back(name);
  for (const auto& name : names) {
    for (auto& mp : impl->mps) {
      for (int i = 0; i < 256; ++i) {
        char hh[3];
        std::snprintf(hh, sizeof hh, "%02x", i);
        AISLE_RETURN_IF_ERROR(MakeDirs(mp.BucketDir(name) + "/" + hh));
      }
    }
  }
  // A mountpath without a complete index (a data directory from before it, or a damaged one)
  // indexes its object files once; one thread per mountpath.
  std::vector<Status> results(impl->mps.size());
  std::vector<std::thread> builders;
  for (size_t i = 0; i < impl->mps.size(); ++i) {
    if (infos[i].built) continue;
    builders.emplace_back([&, i] {
      const std::string& root = impl->mps[i].root;
      spdlog::warn("building the object index of {} from its object files ({})", root,
                   !infos[i].damaged.empty() ? "the old one was unreadable"
                   : infos[i].old_format     ? "the old one is of an older format"
                                             : "none yet");
      auto t0 = std::chrono::steady_clock::now();
      uint64_t n = 0;
      results[i] = impl->BuildIndex(static_cast<uint8_t>(i), names, &n);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (results[i].ok())
        spdlog::warn("built the object index of {}: {} objects in {:.2f} s", root, n, s);
    });
  }
  for (auto& t : builders) t.join();
  for (const auto& st : results) AISLE_RETURN_IF_ERROR(st);
  for (size_t i = 0; i < impl->mps.size(); ++i)
    AISLE_RETURN_IF_ERROR(impl->DropStaleBuckets(static_cast<uint8_t>(i)));
  bool unclean = false;
  for (const auto& info : infos) unclean |= info.built && !info.clean;
  if (unclean) impl->verifier = std::thread([p = impl.get()] { p->Verify(); });
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::vector<std::string>& Store::mountpaths() const { return impl_->mp_roots; }

Result<FileHandle> Store::OpenSpool() const {
  std::string dir = impl_->mps.front().TmpDir();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return FileHandle(fd);
  std::string path = dir + "/spool-" + RandomHex(12);
  AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(path, O_CREAT | O_EXCL | O_RDWR, 0600));
  ::unlink(path.c_str());
  return fh;
}

void Store::SetFaultHook(FaultHook hook) {
  std::lock_guard<std::mutex> l(impl_->hook_mu);
  impl_->hook = std::move(hook);
}

size_t Store::ObjectCount() const {
  size_t n = 0;
  for (const auto& idx : impl_->index) {
    auto c = idx->Count(IndexTable::kObjects);
    if (c.ok()) n += *c;
  }
  return n;
}

Status Store::CreateBucket(std::string_view bucket) {
  AISLE_RETURN_IF_ERROR(ValidateBucketName(bucket));
  std::lock_guard<std::mutex> admin(impl_->admin_mu);
  if (impl_->FindBucket(bucket))
    return Status::AlreadyExists("bucket \"" + BucketCname(bucket) + "\" already exists")
        .WithSubject(Subject::kBucket);
  // Build each mountpath's bucket directory aside, then rename it into place.
  for (auto& mp : impl_->mps) {
    std::string staging = mp.BucketsDir() + "/.new-" + RandomHex(8);
    AISLE_RETURN_IF_ERROR(MakeDirs(staging));
    for (int i = 0; i < 256; ++i) {
      char hh[3];
      std::snprintf(hh, sizeof hh, "%02x", i);
      std::string d = staging + "/" + hh;
      if (::mkdir(d.c_str(), 0755) != 0) return Status::FromErrno(errno, "mkdir " + d);
    }
    {
      AISLE_ASSIGN_OR_RETURN(FileHandle props,
                             OpenFile(staging + "/.props", O_CREAT | O_WRONLY | O_TRUNC));
      AISLE_RETURN_IF_ERROR(FsyncFile(props.get(), staging + "/.props"));
    }
    // One syncfs-free pass: fsync the staging dir (its 256 entries) then rename it in.
    AISLE_RETURN_IF_ERROR(FsyncDir(staging));
    std::string final_dir = mp.BucketDir(bucket);
    if (PathExists(final_dir)) AISLE_RETURN_IF_ERROR(RemoveTree(final_dir));
    AISLE_RETURN_IF_ERROR(RenameFile(staging, final_dir));
    AISLE_RETURN_IF_ERROR(FsyncDir(mp.BucketsDir()));
  }
  auto b = std::make_shared<Bucket>();
  b->name = std::string(bucket);
  b->created_ns = NowNs();
  std::unique_lock<std::shared_mutex> l(impl_->buckets_mu);
  impl_->buckets[b->name] = std::move(b);
  return Status::OK();
}

Status Store::DestroyBucket(std::string_view bucket) {
  AISLE_RETURN_IF_ERROR(ValidateBucketName(bucket));
  std::lock_guard<std::mutex> admin(impl_->admin_mu);
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  {
    std::unique_lock<std::shared_mutex> l(b->mu);
    b->destroyed = true;
  }
  {
    std::unique_lock<std::shared_mutex> l(impl_->buckets_mu);
    impl_->buckets.erase(b->name);
  }
  // Atomically move each mountpath's directory to trash, then delete it.
  Status first;
  for (auto& mp : impl_->mps) {
    std::string trash = mp.TrashDir() + "/" + RandomHex(8);
    Status st = RenameFile(mp.BucketDir(bucket), trash);
    if (st.ok()) st = FsyncDir(mp.BucketsDir());
    if (st.ok()) st = RemoveTree(trash);
    if (!st.ok() && first.ok()) first = st;
  }
  // The entries go after the files (a crash in between: Open drops them, DropStaleBuckets).
  for (auto& idx : impl_->index) {
    for (IndexTable t : {IndexTable::kObjects, IndexTable::kPending}) {
      Status st = idx->DeletePrefix(t, BucketKeyPrefix(bucket));
      if (!st.ok() && first.ok()) first = st;
    }
  }
  return first;
}

std::vector<BucketInfo> Store::ListBuckets() const {
  std::vector<BucketInfo> out;
  std::shared_lock<std::shared_mutex> l(impl_->buckets_mu);
  for (const auto& [name, b] : impl_->buckets) out.push_back({name, b->created_ns});
  return out;
}

Result<BucketInfo> Store::HeadBucket(std::string_view bucket) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  return BucketInfo{b->name, b->created_ns};
}

Result<ObjectMeta> Store::Put(std::string_view bucket, std::string_view name, BodyReader& body,
                              const PutOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(Impl::NewObject n, impl_->StartPut(bucket, name, opts));
  auto& [b, what, meta, hlen] = n;
  uint8_t mp = impl_->PickMountpath(bucket, name);
  AISLE_ASSIGN_OR_RETURN(TempFile tmp, impl_->CreateTemp(mp));

  Xxh64Stream hash;
  char* buf = IoBuffer();
  uint64_t off = hlen;
  uint64_t max = impl_->opts.max_object_size;
  for (;;) {
    Result<size_t> n = body.Read(buf, kIoBuf);
    if (!n.ok()) return n.status().WithContext("put " + what);
    if (*n == 0) break;
    if (max && off - hlen + *n > max)
      return Status::TooLarge("put " + what + ": object larger than " + std::to_string(max) +
                              " bytes");
    AISLE_RETURN_IF_ERROR(
        PwriteAll(tmp.fd.get(), buf, *n, off, tmp.path).WithContext("put " + what));
    hash.Update(buf, *n);
    off += *n;
  }
  if (FaultResult f = impl_->Fault("put.write"); !f.ok()) {
    tmp.keep = f.crash;
    return f.status;
  }
  meta.size = off - hlen;
  meta.xxhash = hash.Digest();
  AISLE_RETURN_IF_ERROR(impl_->Seal(*b, mp, tmp, meta, hlen, opts, what));
  return meta;
}

Result<ObjectMeta> Store::PutRanges(std::string_view bucket, std::string_view name,
                                    const std::vector<FileRange>& ranges, const PutOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(Impl::NewObject n, impl_->StartPut(bucket, name, opts));
  auto& [b, what, meta, hlen] = n;
  for (const FileRange& r : ranges) meta.size += r.length;
  AISLE_RETURN_IF_ERROR(impl_->CheckSize(meta.size, what));
  uint8_t mp = impl_->PickMountpath(bucket, name);
  AISLE_ASSIGN_OR_RETURN(TempFile tmp, impl_->CreateTemp(mp));
  AISLE_RETURN_IF_ERROR(
      CopyRanges(ranges, tmp.fd.get(), hlen, tmp.path).WithContext("put " + what));
  if (FaultResult f = impl_->Fault("put.write"); !f.ok()) {
    tmp.keep = f.crash;
    return f.status;
  }
  // Hash what was stored (page cache, mapped): it also checks the copy.
  AISLE_ASSIGN_OR_RETURN(meta.xxhash, HashRange(tmp.fd.get(), hlen, meta.size, tmp.path));
  AISLE_RETURN_IF_ERROR(impl_->Seal(*b, mp, tmp, meta, hlen, opts, what));
  return meta;
}

Result<ObjectMeta> Store::PutFile(std::string_view bucket, std::string_view name,
                                  const std::string& path, uint64_t data_offset, uint64_t size,
                                  const PutOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(Impl::NewObject n, impl_->StartPut(bucket, name, opts));
  auto& [b, what, meta, hlen] = n;
  AISLE_RETURN_IF_ERROR(impl_->CheckSize(size, what));
  AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(path, O_RDWR));
  uint8_t mp = impl_->PickMountpath(bucket, name);
  struct stat fst, mst;
  if (::fstat(fh.get(), &fst) != 0) return Status::FromErrno(errno, "stat " + path);
  if (::stat(impl_->mps[mp].TmpDir().c_str(), &mst) != 0)
    return Status::FromErrno(errno, "stat " + impl_->mps[mp].TmpDir());
  if (static_cast<uint64_t>(fst.st_size) < data_offset + size)
    return Status::InvalidArgument("put " + what + ": " + path + " is shorter than its data");
  // Renaming needs the same file system; adopting needs the data where the header ends.
  if (data_offset != hlen || fst.st_dev != mst.st_dev)
    return PutRanges(bucket, name, {{fh.get(), data_offset, size}}, opts);
  if (static_cast<uint64_t>(fst.st_size) > data_offset + size &&
      ::ftruncate(fh.get(), static_cast<off_t>(data_offset + size)) != 0)
    return Status::FromErrno(errno, "truncate " + path);
  TempFile tmp;  // the caller's file: never unlinked here, whatever happens
  tmp.path = path;
  tmp.fd = std::move(fh);
  tmp.keep = true;
  if (FaultResult f = impl_->Fault("put.write"); !f.ok()) return f.status;
  meta.size = size;
  AISLE_ASSIGN_OR_RETURN(meta.xxhash, HashRange(tmp.fd.get(), hlen, size, path));
  Status st = impl_->Seal(*b, mp, tmp, meta, hlen, opts, what);
  tmp.keep = true;
  AISLE_RETURN_IF_ERROR(st);
  return meta;
}

Result<ObjectReader> Store::Get(std::string_view bucket, std::string_view name) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  AISLE_ASSIGN_OR_RETURN(std::optional<Found> found, impl_->Lookup(bucket, name));
  if (!found) return ObjectNotFound(bucket, name);
  uint8_t mp = found->mp;
  bool small = found->e.size <= kSmallObject;  // by the index; the header read below counts
  std::string path = impl_->ObjectPath(mp, bucket, name);
  // Guard first (it waits out an in-place append), so the header and data read are one version.
  struct GuardedFile {
    GuardedFile(std::shared_ptr<GuardTable> t, uint64_t key) : guard(std::move(t), key) {}
    ReadGuard guard;
    FileHandle fh;
  };
  auto held = std::make_shared<GuardedFile>(impl_->guards, GuardTable::Key(bucket, name));
  auto fh = OpenFile(path, O_RDONLY);
  if (!fh.ok()) {
    if (fh.status().IsNotFound()) return ObjectNotFound(bucket, name);  // raced with delete
    return fh.status();
  }
  held->fh = std::move(fh).value();
  ObjectReader r;
  uint32_t hlen = 0;
  // The header is read from the open fd, so size and checksum always match the bytes served.
  AISLE_RETURN_IF_ERROR(
      ReadHeader(held->fh.get(), path, &r.meta, &hlen, small ? &r.small_data : nullptr));
  if (r.meta.name != name) return ObjectNotFound(bucket, name);
  r.file = std::shared_ptr<FileHandle>(held, &held->fh);  // one lifetime for fd and guard
  r.guard = std::shared_ptr<ReadGuard>(held, &held->guard);
  r.data_offset = hlen;
  r.mountpath = impl_->mps[mp].root;
  return r;
}

// Index first (durable, with a pending record), then the file: a crash in between leaves a
// file without an entry, which Open unlinks (ReplayPending).
Status Store::Delete(std::string_view bucket, std::string_view name) {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::string hash = NameHash(name), key = ObjectKey(bucket, name);
  std::vector<std::pair<uint8_t, std::string>> done;  // mountpath, pending record
  {
    std::lock_guard<std::mutex> stripe(b->Stripe(name));
    // Normally one entry; more only for copies left from before the mountpaths changed.
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, impl_->Lookup(bucket, name));
      if (!cur) break;
      uint8_t mp = cur->mp;
      std::string dir = impl_->ObjectDir(mp, bucket, hash);
      std::string pending =
          EncodePending(impl_->NewPending(PendingKind::kDelete, bucket, name, dir + "/" + hash));
      AISLE_RETURN_IF_ERROR(
          impl_->index[mp]->Commit({IndexOp::Del(IndexTable::kObjects, key),
                                    IndexOp::Put(IndexTable::kPending, key, pending)}));
      if (FaultResult f = impl_->Fault("delete.index"); !f.ok()) return f.status;
      if (::unlink((dir + "/" + hash).c_str()) != 0 && errno != ENOENT)
        return Status::FromErrno(errno, "delete " + ObjectCname(bucket, name));
      for (const char* sidecar : {".idx", ".xxs"})
        ::unlink((impl_->mps[mp].BucketDir(bucket) + "/.shards/" + hash + sidecar).c_str());
      done.emplace_back(mp, std::move(pending));
    }
  }
  if (done.empty()) return ObjectNotFound(bucket, name);
  for (const auto& [mp, pending] : done) {
    AISLE_RETURN_IF_ERROR(FsyncDir(impl_->ObjectDir(mp, bucket, hash)));
    impl_->index[mp]->Defer({IndexOp::Del(IndexTable::kPending, key, pending)});
  }
  return Status::OK();
}

Status Store::Quarantine(std::string_view bucket, std::string_view name,
                         const ObjectReader* opened) {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::string dir, hash = NameHash(name), key = ObjectKey(bucket, name);
  {
    std::lock_guard<std::mutex> stripe(b->Stripe(name));
    AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, impl_->Lookup(bucket, name));
    if (!cur) return ObjectNotFound(bucket, name);
    uint8_t mp = cur->mp;
    dir = impl_->ObjectDir(mp, bucket, hash);
    std::string path = dir + "/" + hash;
    if (opened) {
      struct stat now, seen;
      if (::stat(path.c_str(), &now) != 0 || ::fstat(opened->file->get(), &seen) != 0 ||
          now.st_ino != seen.st_ino || now.st_dev != seen.st_dev)
        return Status::OK();  // replaced by a newer write: that one is not ours to judge
    }
    const std::string& root = impl_->mps[mp].root;
    AISLE_RETURN_IF_ERROR(MakeDirs(QuarantineDir(root)));
    std::string aside = QuarantineDir(root) + "/" + std::string(bucket) + "-" + hash + "-" +
                        std::to_string(NowNs());
    // Forgotten first; a crash before the move leaves a file Open deletes (pending record).
    std::string pending =
        EncodePending(impl_->NewPending(PendingKind::kDelete, bucket, name, path));
    AISLE_RETURN_IF_ERROR(
        impl_->index[mp]->Commit({IndexOp::Del(IndexTable::kObjects, key),
                                  IndexOp::Put(IndexTable::kPending, key, pending)}));
    AISLE_RETURN_IF_ERROR(RenameFile(path, aside));
    for (const char* sidecar : {".idx", ".xxs"})
      ::unlink((impl_->mps[mp].BucketDir(bucket) + "/.shards/" + hash + sidecar).c_str());
    impl_->index[mp]->Defer({IndexOp::Del(IndexTable::kPending, key, pending)});
  }
  spdlog::error("quarantined {} (failed its checksum)", ObjectCname(bucket, name));
  return FsyncDir(dir);
}

Result<std::string> Store::ObjectFile(std::string_view bucket, std::string_view name) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, impl_->Lookup(bucket, name));
  if (!cur) return ObjectNotFound(bucket, name);
  return impl_->ObjectPath(cur->mp, bucket, name);
}

Status Store::Rename(std::string_view bucket, std::string_view from, std::string_view to) {
  AISLE_RETURN_IF_ERROR(ValidateObjectName(to));
  if (from == to) return Status::OK();
  AISLE_ASSIGN_OR_RETURN(ObjectReader src, Get(bucket, from));
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  AISLE_RETURN_IF_ERROR(impl_->Rewrite(*b, src, to, src.meta.custom));
  Status st = Delete(bucket, from);
  return st.IsNotFound() ? Status::OK() : st;
}

Status Store::SetCustom(std::string_view bucket, std::string_view name,
                        const std::vector<std::pair<std::string, std::string>>& custom,
                        bool replace) {
  AISLE_ASSIGN_OR_RETURN(ObjectReader src, Get(bucket, name));
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::map<std::string, std::string> merged;
  if (!replace) merged.insert(src.meta.custom.begin(), src.meta.custom.end());
  for (const auto& [k, v] : custom) merged[k] = v;
  return impl_->Rewrite(*b, src, name, {merged.begin(), merged.end()});
}

// Pages straight from the indexes: each mountpath's cursor yields up to page_size + 1 entries
// after the start, merged by key (one mountpath: already in order).
Result<ListPage> Store::List(std::string_view bucket, const ListOptions& opts) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  size_t limit = opts.page_size == 0 ? 1000 : opts.page_size;
  const std::string bprefix = BucketKeyPrefix(bucket);
  // Keys hold at most kMaxKeyName bytes of a name, so the scan bound uses that much of the
  // prefix and the full prefix is checked on the decoded name.
  const std::string key_prefix =
      bprefix + opts.prefix.substr(0, std::min(opts.prefix.size(), kMaxKeyName));
  const bool after = !opts.start_after.empty() && opts.start_after >= opts.prefix;
  const std::string from = after ? ObjectKey(bucket, opts.start_after) : key_prefix;
  struct Item {
    std::string key;
    ListEntry entry;
    uint8_t mp;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < impl_->mps.size(); ++i) {
    size_t taken = 0;
    AISLE_RETURN_IF_ERROR(impl_->index[i]->Scan(IndexTable::kObjects, from, [&](auto k, auto v) {
      if (k.compare(0, key_prefix.size(), key_prefix) != 0) return false;
      if (after && k == from) return true;
      IndexEntry e;
      Item it;
      if (!DecodeEntry(k, v, bucket.size(), &e, &it.entry.name)) return true;
      if (it.entry.name.compare(0, opts.prefix.size(), opts.prefix) != 0) return true;
      it.key = std::string(k);
      it.entry.size = e.size;
      it.entry.xxhash = e.xxhash;
      it.entry.version = e.version;
      it.entry.mtime_ns = e.mtime_ns;
      it.entry.atime_ns = e.atime_ns;
      it.entry.etag = std::move(e.etag);
      it.mp = static_cast<uint8_t>(i);
      items.push_back(std::move(it));
      return ++taken <= limit;
    }));
  }
  if (impl_->mps.size() > 1) {
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.key < b.key; });
    // A name on two mountpaths (a copy from before they changed): the HRW one is current.
    std::vector<Item> uniq;
    for (auto& it : items) {
      if (!uniq.empty() && uniq.back().key == it.key) {
        if (impl_->PickMountpath(bucket, it.entry.name) == it.mp) uniq.back() = std::move(it);
        continue;
      }
      uniq.push_back(std::move(it));
    }
    items.swap(uniq);
  }
  ListPage page;
  if (items.size() > limit) {
    items.resize(limit);
    page.next_token = items.back().entry.name;
  }
  page.entries.reserve(items.size());
  for (auto& it : items) page.entries.push_back(std::move(it.entry));
  return page;
}

Result<std::string> Store::Append(std::string_view bucket, std::string_view name,
                                  std::string_view session, BodyReader& body) {
  AISLE_RETURN_IF_ERROR(ValidateObjectName(name));
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  const std::string what = "append " + ObjectCname(bucket, name);
  std::shared_ptr<AppendSession> s;
  std::string id(session);
  int64_t now = NowNs();
  {
    std::lock_guard<std::mutex> l(impl_->append_mu);
    for (auto it = impl_->appends.begin(); it != impl_->appends.end();) {
      if (now - it->second->last_used_ns > kAppendSessionTtlNs) {
        ::unlink(it->second->tmp_path.c_str());
        it = impl_->appends.erase(it);
      } else {
        ++it;
      }
    }
    if (!id.empty()) {
      auto it = impl_->appends.find(id);
      if (it == impl_->appends.end())
        return Status::InvalidArgument(what + ": unknown or expired append handle");
      s = it->second;
    }
  }
  if (!s) {
    s = std::make_shared<AppendSession>();
    s->bucket = std::string(bucket);
    s->name = std::string(name);
    s->mp = impl_->PickMountpath(bucket, name);
    AISLE_ASSIGN_OR_RETURN(TempFile tmp, impl_->CreateTemp(s->mp));
    Result<ObjectReader> cur = Get(bucket, name);
    if (cur.ok()) s->custom = cur->meta.custom;
    ObjectMeta probe;
    probe.name = s->name;
    probe.custom = s->custom;
    s->header_len = static_cast<uint32_t>(EncodedHeaderLen(probe));
    if (cur.ok()) {
      AISLE_RETURN_IF_ERROR(impl_->CopyData(cur->file->get(), cur->data_offset, tmp.fd.get(),
                                            s->header_len, cur->meta.size, &s->hash, what));
      s->size = cur->meta.size;
    }
    s->tmp_path = tmp.path;
    s->fd = std::move(tmp.fd);
    tmp.keep = true;
    id = RandomHex(16);
  }
  std::lock_guard<std::mutex> sl(s->mu);
  if (s->bucket != bucket || s->name != name)
    return Status::InvalidArgument(what + ": append handle belongs to another object");
  char* buf = IoBuffer();
  for (;;) {
    Result<size_t> n = body.Read(buf, kIoBuf);
    if (!n.ok()) return n.status().WithContext(what);
    if (*n == 0) break;
    AISLE_RETURN_IF_ERROR(
        PwriteAll(s->fd.get(), buf, *n, s->header_len + s->size, s->tmp_path).WithContext(what));
    s->hash.Update(buf, *n);
    s->size += *n;
  }
  s->last_used_ns = NowNs();
  std::lock_guard<std::mutex> l(impl_->append_mu);
  impl_->appends[id] = s;
  return id;
}

Result<ObjectMeta> Store::AppendFlush(std::string_view bucket, std::string_view name,
                                      std::string_view session, std::optional<uint64_t> expected) {
  const std::string what = "flush " + ObjectCname(bucket, name);
  std::shared_ptr<AppendSession> s;
  {
    std::lock_guard<std::mutex> l(impl_->append_mu);
    auto it = impl_->appends.find(std::string(session));
    if (it == impl_->appends.end())
      return Status::InvalidArgument(what + ": unknown or expired append handle");
    s = it->second;
    if (s->bucket != bucket || s->name != name)
      return Status::InvalidArgument(what + ": append handle belongs to another object");
    impl_->appends.erase(it);
  }
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  std::lock_guard<std::mutex> sl(s->mu);
  TempFile tmp;
  tmp.path = s->tmp_path;
  tmp.fd = std::move(s->fd);
  if (!b) return BucketNotFound(bucket);
  ObjectMeta meta;
  meta.name = s->name;
  meta.custom = s->custom;
  meta.size = s->size;
  meta.xxhash = s->hash.Digest();
  if (expected && *expected != meta.xxhash)
    return Status::DataCorruption("BAD DATA CHECKSUM: " + what + ": xxhash(" + Hex64(*expected) +
                                  " != " + Hex64(meta.xxhash) + ")");
  meta.mtime_ns = meta.atime_ns = NowNs();
  AISLE_RETURN_IF_ERROR(impl_->Commit(*b, s->mp, tmp, meta, s->header_len).WithContext(what));
  return meta;
}

// ---- in-place append ----------------------------------------------------------------------

void ObjectReader::ReleaseGuard() {
  if (guard) guard->Release();
}

namespace {

// The appended version's metadata: the old one with the next version, new times and (when
// given) new custom metadata; size and checksum follow from the write.
ObjectMeta NextVersionMeta(const ObjectMeta& old, const InPlaceAppend& req) {
  ObjectMeta meta = old;
  if (req.custom) {
    meta.custom = *req.custom;
    std::sort(meta.custom.begin(), meta.custom.end());
  }
  meta.version = old.version + 1;
  meta.mtime_ns = meta.atime_ns = NowNs();
  return meta;
}

// The bytes the undo record puts back: the old header and the data after the append point.
Status ReadUndoBytes(int fd, const std::string& path, uint32_t hlen, uint64_t old_size,
                     uint64_t overwrite_at, const std::string& what, inplace::UndoRecord& undo) {
  undo.old_len = hlen + old_size;
  undo.tail_off = hlen + overwrite_at;
  undo.old_header.resize(hlen);
  undo.old_tail.resize(old_size - overwrite_at);
  AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(fd, undo.old_header.data(), hlen, 0, path));
  AISLE_ASSIGN_OR_RETURN(size_t got_tail, PreadUpTo(fd, undo.old_tail.data(), undo.old_tail.size(),
                                                    undo.tail_off, path));
  if (got != hlen || got_tail != undo.old_tail.size())
    return Status::DataCorruption(what + ": object shorter than its metadata");
  return Status::OK();
}

// The prefix state must reproduce the stored checksum over the old tail, or the new one would
// be wrong. A state the client gave that does not is recomputed from the file (`given`); one
// computed here that does not means the data is corrupt.
Result<std::string> VerifiedPrefix(int fd, uint32_t hlen, uint64_t overwrite_at,
                                   const std::string& old_tail, uint64_t old_xxhash,
                                   std::string prefix, bool given, const std::string& cname,
                                   const std::string& what) {
  auto verifies = [&](const std::string& state) {
    Xxh64Stream h;
    if (!h.LoadState(state)) return false;
    h.Update(old_tail.data(), old_tail.size());
    return h.Digest() == old_xxhash;
  };
  if (!verifies(prefix)) {
    if (!given)
      return Status::DataCorruption("BAD DATA CHECKSUM: " + cname +
                                    ": data does not match its xxhash " + Hex64(old_xxhash));
    AISLE_ASSIGN_OR_RETURN(prefix, inplace::HashPrefix(fd, hlen, overwrite_at, what));
    if (!verifies(prefix))
      return Status::DataCorruption("BAD DATA CHECKSUM: " + cname +
                                    ": data does not match its xxhash " + Hex64(old_xxhash));
  }
  return prefix;
}

}  // namespace

Result<InPlaceResult> Store::AppendInPlace(std::string_view bucket, std::string_view name,
                                           const InPlaceAppend& req, BodyReader& tail) {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  const std::string what = "append " + ObjectCname(bucket, name);
  InPlaceResult out;
  auto fallback = [&](std::string why) -> Result<InPlaceResult> {
    out.fallback = std::move(why);
    return out;
  };
  auto current = [&]() -> Result<std::optional<Found>> {
    if (impl_->Destroyed(*b)) return std::optional<Found>();
    return impl_->Lookup(bucket, name);
  };
  AISLE_ASSIGN_OR_RETURN(std::optional<Found> e, current());
  if (!e) return ObjectNotFound(bucket, name);
  if (e->e.version != req.expected_version) return fallback("the object changed");
  const uint8_t mp = e->mp;
  std::string hash = NameHash(name);
  std::string dir = impl_->ObjectDir(mp, bucket, hash);
  std::string path = dir + "/" + hash;
  AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(path, O_RDWR));
  ObjectMeta old;
  uint32_t hlen = 0;
  AISLE_RETURN_IF_ERROR(ReadHeader(fh.get(), path, &old, &hlen));
  if (old.name != name || old.version != req.expected_version)
    return fallback("the object changed");
  if (req.overwrite_at > old.size || old.size - req.overwrite_at > inplace::kMaxOldTail)
    return fallback("too many bytes after the append point");
  if (req.snapshot_at < req.overwrite_at || req.snapshot_at > req.overwrite_at + req.tail_len)
    return Status::InvalidArgument(what + ": snapshot offset outside the appended bytes");
  ObjectMeta meta = NextVersionMeta(old, req);
  if (EncodedHeaderLen(meta) != hlen) return fallback("the object header would change length");

  // Bytes below overwrite_at of this version never change (an overwrite is a new file, an
  // in-place append writes only from its append point on), so they are hashed without locks.
  Xxh64Stream probe;
  std::string prefix = req.prefix_state;
  bool given = probe.LoadState(prefix);
  if (!given) {
    AISLE_ASSIGN_OR_RETURN(prefix, inplace::HashPrefix(fh.get(), hlen, req.overwrite_at, what));
  }

  std::lock_guard<std::mutex> stripe(b->Stripe(name));  // no commit of this name meanwhile
  AISLE_ASSIGN_OR_RETURN(e, current());
  struct stat fst, pst;
  if (!e || e->e.version != old.version || e->mp != mp || ::fstat(fh.get(), &fst) != 0 ||
      ::stat(path.c_str(), &pst) != 0 || fst.st_ino != pst.st_ino)
    return fallback("the object changed");
  ObjectMeta again;
  AISLE_RETURN_IF_ERROR(ReadHeader(fh.get(), path, &again, &hlen));
  if (again.version != old.version) return fallback("the object changed");

  inplace::WriteArgs a;
  a.undo.rel_path = path.substr(impl_->mps[mp].root.size() + 1);
  a.undo.ino = static_cast<uint64_t>(fst.st_ino);
  AISLE_RETURN_IF_ERROR(
      ReadUndoBytes(fh.get(), path, hlen, old.size, req.overwrite_at, what, a.undo));
  AISLE_ASSIGN_OR_RETURN(
      prefix, VerifiedPrefix(fh.get(), hlen, req.overwrite_at, a.undo.old_tail, old.xxhash,
                             std::move(prefix), given, ObjectCname(bucket, name), what));

  WriteGuard guard(*impl_->guards, GuardTable::Key(bucket, name));
  if (!guard.held()) return fallback("the object is being read");
  a.fd = fh.get();
  a.mp_root = impl_->mps[mp].root;
  a.prefix_state = std::move(prefix);
  a.header_len = hlen;
  a.data_at = req.overwrite_at;
  a.tail = &tail;
  a.tail_len = req.tail_len;
  a.snapshot_at = req.snapshot_at;
  a.encode_header = [&](uint64_t size, uint64_t xxhash) {
    meta.size = size;
    meta.xxhash = xxhash;
    return EncodeHeader(meta);
  };
  a.fault = [this](std::string_view step) { return impl_->Fault(step); };
  // The index learns the new version after the file; the pending record makes Open re-read
  // the header should a crash fall in between.
  std::string key = ObjectKey(bucket, name);
  std::string pending = EncodePending(impl_->NewPending(PendingKind::kCheck, bucket, name, path));
  AISLE_RETURN_IF_ERROR(
      impl_->index[mp]->Commit({IndexOp::Put(IndexTable::kPending, key, pending)}));
  AISLE_ASSIGN_OR_RETURN(inplace::WriteResult w, inplace::Write(a));
  AISLE_RETURN_IF_ERROR(impl_->index[mp]->Commit(
      {IndexOp::Put(IndexTable::kObjects, key, EncodeEntry(EntryOf(meta), meta.name)),
       IndexOp::Del(IndexTable::kPending, key, pending)}));
  AISLE_RETURN_IF_ERROR(impl_->Fault("append.done").status);
  out.applied = true;
  out.meta = std::move(meta);
  out.snapshot_state = std::move(w.snapshot_state);
  return out;
}

// ---- shards: sidecar files ----------------------------------------------------------------

Result<std::string> Store::SidecarPath(std::string_view bucket, std::string_view name,
                                       std::string_view suffix) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  AISLE_ASSIGN_OR_RETURN(std::optional<Found> cur, impl_->Lookup(bucket, name));
  if (!cur) return ObjectNotFound(bucket, name);
  uint8_t mp = cur->mp;
  return impl_->mps[mp].BucketDir(bucket) + "/.shards/" + NameHash(name) + std::string(suffix);
}

std::string BucketCname(std::string_view bucket) { return "ais://" + std::string(bucket); }
std::string ObjectCname(std::string_view bucket, std::string_view name) {
  return "ais://" + std::string(bucket) + "/" + std::string(name);
}

Result<std::string> ReadObjectData(const ObjectReader& r) {
  if (!r.small_data.empty() || r.meta.size == 0) return r.small_data;
  std::string out(r.meta.size, '\0');
  AISLE_ASSIGN_OR_RETURN(
      size_t got, PreadUpTo(r.file->get(), out.data(), out.size(), r.data_offset, r.meta.name));
  if (got != out.size()) return Status::IOError("read " + r.meta.name + ": file is truncated");
  return out;
}

}  // namespace aisle::storage
