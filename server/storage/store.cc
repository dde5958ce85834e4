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
#include <shared_mutex>
#include <thread>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/hrw.h"
#include "common/logging.h"
#include "common/names.h"
#include "server/storage/inplace_append.h"
#include "server/storage/read_guard.h"
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

struct IndexEntry {
  uint64_t size = 0;
  uint64_t xxhash = 0;
  uint64_t version = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  uint8_t mp = 0;
};

struct Bucket {
  std::string name;
  int64_t created_ns = 0;
  mutable std::shared_mutex mu;  // guards objects and destroyed
  std::map<std::string, IndexEntry, std::less<>> objects;
  bool destroyed = false;
  // Serialise commits (rename + index update) per name; lock order: stripe, then mu.
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

  // Writes the header, fsyncs, renames into place, updates the index, fsyncs the directory.
  // On return OK the object is durable.
  Status Commit(Bucket& b, uint8_t mp, TempFile& tmp, ObjectMeta& meta, uint32_t header_len) {
    bool preset_version = meta.version != 0;  // intra-cluster copies keep the source's
    auto next_version = [&] {
      std::shared_lock<std::shared_mutex> l(b.mu);
      auto it = b.objects.find(meta.name);
      return it == b.objects.end() ? uint64_t{1} : it->second.version + 1;
    };
    {
      std::shared_lock<std::shared_mutex> l(b.mu);
      if (b.destroyed) return BucketNotFound(b.name);
    }
    if (!preset_version) meta.version = next_version();
    std::string header = EncodeHeader(meta);
    if (header.size() != header_len)
      return Status::Internal("object header length changed while writing");
    AISLE_RETURN_IF_ERROR(PwriteAll(tmp.fd.get(), header.data(), header.size(), 0, tmp.path));
    if (FaultResult f = Fault("put.fsync"); !f.ok()) {
      tmp.keep = f.crash;
      return f.status;
    }
    AISLE_RETURN_IF_ERROR(FsyncFile(tmp.fd.get(), tmp.path));
    if (FaultResult f = Fault("put.rename"); !f.ok()) {
      tmp.keep = f.crash;
      return f.status;
    }
    std::string hash = NameHash(meta.name);
    std::string dir = ObjectDir(mp, b.name, hash);
    std::string path = dir + "/" + hash;
    std::string old_dir;
    {
      std::lock_guard<std::mutex> stripe(b.Stripe(meta.name));
      {
        std::shared_lock<std::shared_mutex> l(b.mu);
        if (b.destroyed) return BucketNotFound(b.name);
      }
      // A concurrent writer of the same name committed meanwhile: take the next version.
      // Rare (contended names only), so the extra fsync is paid only then.
      if (!preset_version && next_version() != meta.version) {
        meta.version = next_version();
        header = EncodeHeader(meta);
        AISLE_RETURN_IF_ERROR(PwriteAll(tmp.fd.get(), header.data(), header.size(), 0, tmp.path));
        AISLE_RETURN_IF_ERROR(FsyncFile(tmp.fd.get(), tmp.path));
      }
      AISLE_RETURN_IF_ERROR(RenameFile(tmp.path, path));
      tmp.keep = true;
      std::unique_lock<std::shared_mutex> l(b.mu);
      auto [it, inserted] = b.objects.try_emplace(meta.name);
      if (!inserted && it->second.mp != mp) {
        old_dir = ObjectDir(it->second.mp, b.name, hash);
        ::unlink((old_dir + "/" + hash).c_str());
      }
      it->second =
          IndexEntry{meta.size, meta.xxhash, meta.version, meta.mtime_ns, meta.atime_ns, mp};
    }
    if (FaultResult f = Fault("put.dirsync"); !f.ok()) return f.status;
    AISLE_RETURN_IF_ERROR(FsyncDir(dir));
    if (!old_dir.empty()) AISLE_RETURN_IF_ERROR(FsyncDir(old_dir));
    return Status::OK();
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
  Status LoadBucketDir(uint8_t mp_idx, const std::string& bucket);
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

Status Store::Impl::LoadBucketDir(uint8_t mp_idx, const std::string& bname) {
  std::shared_ptr<Bucket> b = FindBucket(bname);
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
      std::unique_lock<std::shared_mutex> l(b->mu);
      auto [it, inserted] = b->objects.try_emplace(meta.name);
      IndexEntry e{meta.size, meta.xxhash, meta.version, meta.mtime_ns, meta.atime_ns, mp_idx};
      if (!inserted) {
        // The same name on two mountpaths: a crash between rename and removing the old copy.
        bool newer = e.version > it->second.version ||
                     (e.version == it->second.version && e.mtime_ns > it->second.mtime_ns);
        std::string loser = newer ? ObjectPath(it->second.mp, bname, meta.name) : path;
        ::unlink(loser.c_str());
        if (!newer) continue;
      }
      it->second = e;
    }
  }
  return Status::OK();
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
    // Leftovers of interrupted writes and bucket destroys.
    AISLE_RETURN_IF_ERROR(RemoveTree(mp.TmpDir()));
    AISLE_RETURN_IF_ERROR(RemoveTree(mp.TrashDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TmpDir()));
    AISLE_RETURN_IF_ERROR(MakeDirs(mp.TrashDir()));
    // Interrupted in-place appends: back to the old version before any header is read.
    AISLE_RETURN_IF_ERROR(MakeDirs(UndoDir(root)));
    AISLE_RETURN_IF_ERROR(inplace::Recover(root));
    impl->mp_roots.push_back(root);
    impl->mps.push_back(std::move(mp));
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
  // Index every object; one thread per mountpath.
  std::vector<Status> results(impl->mps.size());
  std::vector<std::thread> loaders;
  for (size_t i = 0; i < impl->mps.size(); ++i) {
    loaders.emplace_back([&, i] {
      for (const auto& name : names) {
        Status st = impl->LoadBucketDir(static_cast<uint8_t>(i), name);
        if (!st.ok()) results[i] = st;
      }
    });
  }
  for (auto& t : loaders) t.join();
  for (const auto& st : results) AISLE_RETURN_IF_ERROR(st);
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
  std::shared_lock<std::shared_mutex> l(impl_->buckets_mu);
  for (const auto& [name, b] : impl_->buckets) {
    std::shared_lock<std::shared_mutex> bl(b->mu);
    n += b->objects.size();
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
    b->objects.clear();
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
  uint8_t mp;
  bool small;  // by the index; the header read from the file below is what counts
  {
    std::shared_lock<std::shared_mutex> l(b->mu);
    auto it = b->objects.find(name);
    if (it == b->objects.end()) return ObjectNotFound(bucket, name);
    mp = it->second.mp;
    small = it->second.size <= kSmallObject;
  }
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

Status Store::Delete(std::string_view bucket, std::string_view name) {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::string dir;
  {
    std::lock_guard<std::mutex> stripe(b->Stripe(name));
    std::unique_lock<std::shared_mutex> l(b->mu);
    auto it = b->objects.find(name);
    if (it == b->objects.end()) return ObjectNotFound(bucket, name);
    std::string hash = NameHash(name);
    dir = impl_->ObjectDir(it->second.mp, bucket, hash);
    if (::unlink((dir + "/" + hash).c_str()) != 0 && errno != ENOENT)
      return Status::FromErrno(errno, "delete " + ObjectCname(bucket, name));
    for (const char* sidecar : {".idx", ".xxs"})
      ::unlink(
          (impl_->mps[it->second.mp].BucketDir(bucket) + "/.shards/" + hash + sidecar).c_str());
    b->objects.erase(it);
  }
  return FsyncDir(dir);
}

Status Store::Quarantine(std::string_view bucket, std::string_view name,
                         const ObjectReader* opened) {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::string dir, hash = NameHash(name);
  {
    std::lock_guard<std::mutex> stripe(b->Stripe(name));
    std::unique_lock<std::shared_mutex> l(b->mu);
    auto it = b->objects.find(name);
    if (it == b->objects.end()) return ObjectNotFound(bucket, name);
    uint8_t mp = it->second.mp;
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
    AISLE_RETURN_IF_ERROR(RenameFile(path, aside));
    for (const char* sidecar : {".idx", ".xxs"})
      ::unlink((impl_->mps[mp].BucketDir(bucket) + "/.shards/" + hash + sidecar).c_str());
    b->objects.erase(it);
  }
  spdlog::error("quarantined {} (failed its checksum)", ObjectCname(bucket, name));
  return FsyncDir(dir);
}

Result<std::string> Store::ObjectFile(std::string_view bucket, std::string_view name) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  std::shared_lock<std::shared_mutex> l(b->mu);
  auto it = b->objects.find(name);
  if (it == b->objects.end()) return ObjectNotFound(bucket, name);
  return impl_->ObjectPath(it->second.mp, bucket, name);
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

Result<ListPage> Store::List(std::string_view bucket, const ListOptions& opts) const {
  std::shared_ptr<Bucket> b = impl_->FindBucket(bucket);
  if (!b) return BucketNotFound(bucket);
  size_t limit = opts.page_size == 0 ? 1000 : opts.page_size;
  ListPage page;
  page.entries.reserve(std::min<size_t>(limit, 4096));
  std::shared_lock<std::shared_mutex> l(b->mu);
  auto it = opts.start_after.empty() || opts.start_after < opts.prefix
                ? b->objects.lower_bound(opts.prefix)
                : b->objects.upper_bound(opts.start_after);
  for (; it != b->objects.end(); ++it) {
    if (it->first.compare(0, opts.prefix.size(), opts.prefix) != 0) break;
    if (page.entries.size() == limit) {
      page.next_token = page.entries.back().name;
      break;
    }
    const IndexEntry& e = it->second;
    page.entries.push_back({it->first, e.size, e.xxhash, e.version, e.mtime_ns, e.atime_ns, {}});
  }
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

// The index learns the appended version (unless the object was deleted meanwhile).
void IndexAppended(Bucket& b, const ObjectMeta& meta, uint8_t mp) {
  std::unique_lock<std::shared_mutex> l(b.mu);
  auto it = b.objects.find(meta.name);
  if (it != b.objects.end())
    it->second = IndexEntry{meta.size, meta.xxhash, meta.version, meta.mtime_ns, meta.atime_ns, mp};
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
  auto current = [&]() -> std::optional<IndexEntry> {
    std::shared_lock<std::shared_mutex> l(b->mu);
    auto it = b->objects.find(name);
    if (it == b->objects.end() || b->destroyed) return std::nullopt;
    return it->second;
  };
  std::optional<IndexEntry> e = current();
  if (!e) return ObjectNotFound(bucket, name);
  if (e->version != req.expected_version) return fallback("the object changed");
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
  e = current();
  struct stat fst, pst;
  if (!e || e->version != old.version || e->mp != mp || ::fstat(fh.get(), &fst) != 0 ||
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
  AISLE_ASSIGN_OR_RETURN(inplace::WriteResult w, inplace::Write(a));
  IndexAppended(*b, meta, mp);
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
  uint8_t mp;
  {
    std::shared_lock<std::shared_mutex> l(b->mu);
    auto it = b->objects.find(name);
    if (it == b->objects.end()) return ObjectNotFound(bucket, name);
    mp = it->second.mp;
  }
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
