#include "server/storage/meta_index.h"

#include <lmdb.h>
#include <sys/mman.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/clock.h"
#include "common/logging.h"
#include "server/storage/file_util.h"
#include "server/storage/record_codec.h"

namespace aisle::storage {
namespace {

constexpr size_t kMapSize = size_t{1} << 40;  // address space only; the file grows as needed
constexpr unsigned kMaxReaders = 4096;
constexpr size_t kEntryLen = 40;  // the five numbers; then the ETag (length byte first)
constexpr size_t kDeleteChunk = 10000;
constexpr const char* kFormat = "aisle-index-2";
// Entries without the ETag: rebuilt once from the object files (the index of issue #24's
// first version).
constexpr const char* kFormatNoEtag = "aisle-index-1";
// What one operation maps, for the resident budget. A page fault maps up to 16 pages around
// the faulting one (the kernel's fault-around, regardless of MADV_RANDOM), and leaf pages
// are spread over the file (keys are inserted in hash order): a lookup or write counts 64
// KiB; a walked entry its bytes and node header at their ~3x leaf fill, times that 16
// (measured: without it a full listing of 1 M objects mapped 140 MiB between two drops).
constexpr uint64_t kFaultAround = 16;
constexpr uint64_t kPageTouch = 4096 * kFaultAround;
uint64_t WalkedBytes(const MDB_val& k, const MDB_val& v) {
  return 3 * kFaultAround * (k.mv_size + v.mv_size + 8);
}

Status LmdbError(int rc, const std::string& what) {
  return Status::IOError("object index: " + what + ": " + mdb_strerror(rc));
}

MDB_val Val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// A read transaction ended on scope exit.
struct ReadTxn {
  MDB_txn* txn = nullptr;
  ~ReadTxn() {
    if (txn) mdb_txn_abort(txn);
  }
};

}  // namespace

struct MetaIndex::Env {
  MDB_env* env = nullptr;
  MDB_dbi dbi[3] = {0, 0, 0};
  void* map = nullptr;  // where LMDB mapped data.mdb (mdb_env_info tells only for FIXEDMAP)
  ~Env() {
    if (env) mdb_env_close(env);
  }
  MDB_dbi Dbi(IndexTable t) const { return dbi[static_cast<int>(t)]; }
};

std::string BucketKeyPrefix(std::string_view bucket) {
  std::string k(bucket);
  k.push_back('\0');
  return k;
}

std::string ObjectKey(std::string_view bucket, std::string_view name) {
  std::string k = BucketKeyPrefix(bucket);
  if (name.size() <= kMaxKeyName) {
    k.append(name);
  } else {
    k.append(name.substr(0, kMaxKeyName));
    uint64_t h = XXH3_64bits(name.data(), name.size());
    for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(h >> (8 * i)));
  }
  return k;
}

std::string EncodeEntry(const IndexEntry& e, std::string_view name) {
  std::string v;
  size_t etag = e.etag.size() <= 255 ? e.etag.size() : 0;
  v.reserve(kEntryLen + 1 + etag + (name.size() > kMaxKeyName ? name.size() : 0));
  Put64(&v, e.size);
  Put64(&v, e.xxhash);
  Put64(&v, e.version);
  Put64(&v, static_cast<uint64_t>(e.mtime_ns));
  Put64(&v, static_cast<uint64_t>(e.atime_ns));
  v.push_back(static_cast<char>(etag));
  v.append(e.etag, 0, etag);
  if (name.size() > kMaxKeyName) v.append(name);
  return v;
}

bool DecodeEntry(std::string_view key, std::string_view value, size_t bucket_len, IndexEntry* e,
                 std::string* name) {
  if (value.size() < kEntryLen + 1 || key.size() <= bucket_len) return false;
  size_t etag = static_cast<unsigned char>(value[kEntryLen]);
  if (value.size() < kEntryLen + 1 + etag) return false;
  uint64_t m, a;
  std::memcpy(&e->size, value.data(), 8);
  std::memcpy(&e->xxhash, value.data() + 8, 8);
  std::memcpy(&e->version, value.data() + 16, 8);
  std::memcpy(&m, value.data() + 24, 8);
  std::memcpy(&a, value.data() + 32, 8);
  e->mtime_ns = static_cast<int64_t>(m);
  e->atime_ns = static_cast<int64_t>(a);
  e->etag.assign(value.substr(kEntryLen + 1, etag));
  if (name) {
    std::string_view rest = value.substr(kEntryLen + 1 + etag);
    if (!rest.empty())
      name->assign(rest);
    else
      name->assign(key.substr(bucket_len + 1));
  }
  return true;
}

namespace {

// The start of this process's mapping of `file` (from /proc/self/maps), or null.
void* FindMapping(const std::string& file) {
  std::string want = file;
  if (char* real = ::realpath(file.c_str(), nullptr)) {
    want = real;
    ::free(real);
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos || line.compare(slash, std::string::npos, want) != 0) continue;
    return reinterpret_cast<void*>(std::stoull(line.substr(0, line.find('-')), nullptr, 16));
  }
  return nullptr;
}

// Opens the environment and its tables; any LMDB error means the files are not a usable index.
Status OpenEnv(const std::string& dir, MetaIndex::Env* e) {
  int rc = mdb_env_create(&e->env);
  if (rc != 0) return LmdbError(rc, "create");
  mdb_env_set_maxdbs(e->env, 3);
  mdb_env_set_mapsize(e->env, kMapSize);
  mdb_env_set_maxreaders(e->env, kMaxReaders);
  // NOTLS: read transactions are short and may run on any thread. NORDAHEAD: lookups are
  // random; readahead would only fill the page cache.
  rc = mdb_env_open(e->env, dir.c_str(), MDB_NOTLS | MDB_NORDAHEAD, 0644);
  if (rc != 0) return LmdbError(rc, "open " + dir);
  e->map = FindMapping(dir + "/data.mdb");
  int dead = 0;  // reader slots of a process that died (kill -9) would pin old pages
  mdb_reader_check(e->env, &dead);
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(e->env, nullptr, 0, &txn);
  if (rc != 0) return LmdbError(rc, "begin");
  const char* names[3] = {"objects", "pending", "meta"};
  for (int i = 0; i < 3; ++i) {
    rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &e->dbi[i]);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError(rc, std::string("open table ") + names[i]);
    }
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::OK() : LmdbError(rc, "commit");
}

}  // namespace

Result<std::unique_ptr<MetaIndex>> MetaIndex::Open(const std::string& dir, OpenInfo* info,
                                                   uint64_t resident_bytes) {
  *info = OpenInfo();
  std::unique_ptr<MetaIndex> idx(new MetaIndex());
  idx->dir_ = dir;
  idx->resident_ = resident_bytes;
  AISLE_RETURN_IF_ERROR(MakeDirs(dir));
  auto attempt = [&]() -> Status {
    idx->env_ = std::make_unique<Env>();
    AISLE_RETURN_IF_ERROR(OpenEnv(dir, idx->env_.get()));
    AISLE_ASSIGN_OR_RETURN(auto format, idx->Get(IndexTable::kMeta, "format"));
    info->old_format = format && *format == kFormatNoEtag;
    if (format && *format != kFormat && !info->old_format)
      return Status::DataCorruption("object index: unknown format " + *format);
    AISLE_ASSIGN_OR_RETURN(auto built, idx->Get(IndexTable::kMeta, "built"));
    AISLE_ASSIGN_OR_RETURN(auto clean, idx->Get(IndexTable::kMeta, "clean"));
    info->built = format && !info->old_format && built && *built == "1";
    info->clean = clean && *clean == "1";
    return Status::OK();
  };
  Status st = attempt();
  if (!st.ok()) {
    // Set the damaged files aside (for inspection) and start empty: the caller rebuilds.
    info->damaged = st.ToString();
    idx->env_.reset();
    std::string aside = dir + ".bad-" + std::to_string(NowNs());
    AISLE_RETURN_IF_ERROR(RenameFile(dir, aside));
    AISLE_RETURN_IF_ERROR(MakeDirs(dir));
    AISLE_RETURN_IF_ERROR(attempt());
    info->built = info->clean = false;
  }
  // From here until a clean close, a crash leaves "clean" unset. An older format is not
  // "built" any more: its entries are rebuilt, even after a crash during that.
  std::vector<IndexOp> ops{IndexOp::Put(IndexTable::kMeta, "format", kFormat),
                           IndexOp::Put(IndexTable::kMeta, "clean", "0")};
  if (info->old_format) ops.push_back(IndexOp::Del(IndexTable::kMeta, "built"));
  AISLE_RETURN_IF_ERROR(idx->Commit(std::move(ops)));
  return idx;
}

MetaIndex::~MetaIndex() {
  if (!env_) return;
  Status st = Commit({IndexOp::Put(IndexTable::kMeta, "clean", "1")});
  if (!st.ok()) spdlog::error("closing {}: {}", dir_, st.ToString());
}

Status MetaIndex::Apply(std::vector<IndexOp>& ops) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_->env, nullptr, 0, &txn);
  if (rc != 0) return LmdbError(rc, "begin");
  for (IndexOp& op : ops) {
    MDB_dbi dbi = env_->Dbi(op.table);
    MDB_val k = Val(op.key);
    if (!op.del) {
      MDB_val v = Val(op.value);
      rc = mdb_put(txn, dbi, &k, &v, 0);
    } else {
      if (!op.if_value.empty()) {
        MDB_val cur;
        rc = mdb_get(txn, dbi, &k, &cur);
        if (rc == MDB_NOTFOUND || (rc == 0 && View(cur) != op.if_value)) continue;
        if (rc != 0) break;
      }
      rc = mdb_del(txn, dbi, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = 0;
    }
    if (rc != 0) break;
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbError(rc, "write");
  }
  rc = mdb_txn_commit(txn);  // durable on return (the environment syncs on commit)
  if (rc != 0) return LmdbError(rc, "commit");
  NoteTouched(ops.size() * kPageTouch);
  return Status::OK();
}

void MetaIndex::NoteTouched(uint64_t bytes) const {
  if (resident_ == 0) return;
  if (touched_.fetch_add(bytes, std::memory_order_relaxed) + bytes < resident_) return;
  touched_.store(0, std::memory_order_relaxed);
  DropMappedPages();
}

void MetaIndex::DropMappedPages() const {
  MDB_envinfo info;
  MDB_stat st;
  if (!env_->map || mdb_env_info(env_->env, &info) != 0 || mdb_env_stat(env_->env, &st) != 0)
    return;
  size_t used = (info.me_last_pgno + 1) * static_cast<size_t>(st.ms_psize);
  // Safe while readers use the map: it is shared and read-only (no MDB_WRITEMAP), so a
  // dropped page comes back unchanged from the page cache on the next access.
  ::madvise(env_->map, std::min(used, info.me_mapsize), MADV_DONTNEED);
}

Status MetaIndex::Commit(std::vector<IndexOp> ops) {
  Request req;
  req.ops = std::move(ops);
  std::unique_lock<std::mutex> l(mu_);
  queue_.push_back(&req);
  while (!req.done) {
    if (leader_) {
      cv_.wait(l);
      continue;
    }
    // Lead: write every queued request (ours included) and the deferred ops in one txn.
    leader_ = true;
    std::vector<Request*> batch;
    batch.swap(queue_);
    std::vector<IndexOp> all;
    all.swap(deferred_);
    l.unlock();
    for (Request* r : batch)
      for (IndexOp& op : r->ops) all.push_back(std::move(op));
    Status st = Apply(all);
    l.lock();
    for (Request* r : batch) {
      r->status = st;
      r->done = true;
    }
    leader_ = false;
    cv_.notify_all();
  }
  return req.status;
}

void MetaIndex::Defer(std::vector<IndexOp> ops) {
  std::lock_guard<std::mutex> l(mu_);
  for (IndexOp& op : ops) deferred_.push_back(std::move(op));
}

Result<std::optional<std::string>> MetaIndex::Get(IndexTable t, std::string_view key) const {
  ReadTxn r;
  int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &r.txn);
  if (rc != 0) return LmdbError(rc, "begin read");
  MDB_val k = Val(key), v;
  rc = mdb_get(r.txn, env_->Dbi(t), &k, &v);
  NoteTouched(kPageTouch);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbError(rc, "get");
  return std::optional<std::string>(std::string(View(v)));
}

Status MetaIndex::Scan(IndexTable t, std::string_view from,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  ReadTxn r;
  int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &r.txn);
  if (rc != 0) return LmdbError(rc, "begin read");
  MDB_cursor* c = nullptr;
  rc = mdb_cursor_open(r.txn, env_->Dbi(t), &c);
  if (rc != 0) return LmdbError(rc, "cursor");
  MDB_val k = Val(from), v;
  rc = from.empty() ? mdb_cursor_get(c, &k, &v, MDB_FIRST)
                    : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  uint64_t bytes = 0;
  while (rc == 0) {
    bytes += WalkedBytes(k, v);
    if (!fn(View(k), View(v))) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  NoteTouched(bytes);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, "scan");
  return Status::OK();
}

Result<uint64_t> MetaIndex::Count(IndexTable t) const {
  ReadTxn r;
  int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &r.txn);
  if (rc != 0) return LmdbError(rc, "begin read");
  MDB_stat st;
  rc = mdb_stat(r.txn, env_->Dbi(t), &st);
  if (rc != 0) return LmdbError(rc, "stat");
  return static_cast<uint64_t>(st.ms_entries);
}

Status MetaIndex::DeletePrefix(IndexTable t, std::string_view prefix) {
  for (;;) {
    std::vector<IndexOp> ops;
    AISLE_RETURN_IF_ERROR(Scan(t, prefix, [&](std::string_view k, std::string_view) {
      if (k.substr(0, prefix.size()) != prefix) return false;
      ops.push_back(IndexOp::Del(t, std::string(k)));
      return ops.size() < kDeleteChunk;
    }));
    if (ops.empty()) return Status::OK();
    AISLE_RETURN_IF_ERROR(Commit(std::move(ops)));
  }
}

Status MetaIndex::Clear(IndexTable t) {
  std::lock_guard<std::mutex> l(mu_);  // no group commit meanwhile (callers: start only)
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_->env, nullptr, 0, &txn);
  if (rc != 0) return LmdbError(rc, "begin");
  rc = mdb_drop(txn, env_->Dbi(t), 0);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbError(rc, "clear");
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::OK() : LmdbError(rc, "commit");
}

}  // namespace aisle::storage
