#include "server/shards/shard_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "common/archive/index_builder.h"
#include "common/checksum.h"
#include "common/logging.h"
#include "server/storage/file_util.h"

namespace aisle::api {
namespace {

std::string Dirname(const std::string& p) { return p.substr(0, p.rfind('/')); }

Result<std::string> ReadWholeFile(const std::string& path) {
  AISLE_ASSIGN_OR_RETURN(storage::FileHandle fh, storage::OpenFile(path, O_RDONLY));
  struct stat st;
  if (::fstat(fh.get(), &st) != 0) return Status::FromErrno(errno, path);
  std::string data(static_cast<size_t>(st.st_size), '\0');
  AISLE_ASSIGN_OR_RETURN(size_t n, storage::PreadUpTo(fh.get(), data.data(), data.size(), 0, path));
  data.resize(n);
  return data;
}

}  // namespace

archive::IndexTag TagOf(const storage::ObjectMeta& m) {
  return archive::IndexTag{m.version, m.xxhash, m.size, m.mtime_ns};
}

ShardCache::ShardCache(storage::Store* store, size_t max_bytes)
    : store_(store), max_bytes_(max_bytes) {}

std::mutex& ShardCache::WriteLock(std::string_view bucket, std::string_view name) {
  size_t h = std::hash<std::string_view>()(bucket) * 31 + std::hash<std::string_view>()(name);
  return write_mu_[h % kStripes];
}

std::shared_ptr<const archive::ShardIndex> ShardCache::Lookup(const Key& key,
                                                              const archive::IndexTag& tag) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return nullptr;
  if (!(it->second.index->tag == tag)) {  // the object changed
    bytes_ -= it->second.Bytes();
    lru_.erase(it->second.lru);
    slots_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.index;
}

void ShardCache::Remember(const Key& key, std::shared_ptr<const archive::ShardIndex> index) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    bytes_ -= it->second.Bytes();
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  bytes_ += index->MemoryBytes();
  lru_.push_front(key);
  slots_[key] = Slot{std::move(index), lru_.begin(), nullptr, 0};
  while (bytes_ > max_bytes_ && lru_.size() > 1) {  // keep at least the newest
    auto victim = slots_.find(lru_.back());
    bytes_ -= victim->second.Bytes();
    slots_.erase(victim);
    lru_.pop_back();
  }
}

ShardMembers ShardCache::Members(std::string_view bucket, std::string_view name,
                                 const std::shared_ptr<const archive::ShardIndex>& index) {
  const Key key = std::string(bucket) + '\0' + std::string(name);
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = slots_.find(key);
    if (it != slots_.end() && it->second.index == index && it->second.members)
      return it->second.members;
  }
  auto out = std::make_shared<std::vector<ShardMemberEntry>>();
  out->reserve(index->members.size());
  size_t bytes = 0;
  for (const auto& m : index->members) {
    if (m.type != archive::MemberType::kFile || index->Find(m.name) != &m) continue;
    out->push_back({std::string(name) + "/" + m.name, m.size});
    bytes += sizeof(ShardMemberEntry) + out->back().name.capacity();
  }
  std::sort(out->begin(), out->end(),
            [](const ShardMemberEntry& a, const ShardMemberEntry& b) { return a.name < b.name; });
  std::lock_guard<std::mutex> l(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end() && it->second.index == index && !it->second.members) {
    it->second.members = out;
    it->second.members_bytes = bytes;
    bytes_ += bytes;
  }
  return out;
}

void ShardCache::Persist(std::string_view bucket, std::string_view name,
                         const archive::ShardIndex& idx) {
  PersistSidecar(bucket, name, ".idx", idx.Encode());
}

// Best effort: a sidecar is a cache, so a failure only costs a rebuild later. Written to a
// temp name and renamed, so readers never see a torn file (its checksum would catch it too).
void ShardCache::PersistSidecar(std::string_view bucket, std::string_view name, const char* suffix,
                                const std::string& data) {
  auto path = store_->SidecarPath(bucket, name, suffix);
  if (!path.ok()) return;
  Status st = storage::MakeDirs(Dirname(*path));
  std::string tmp = *path + ".tmp-" + storage::RandomHex(8);
  if (st.ok()) {
    auto fh = storage::OpenFile(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644);
    st = fh.status();
    if (st.ok()) st = storage::WriteAll(fh->get(), data.data(), data.size(), tmp);
    if (st.ok()) st = storage::RenameFile(tmp, *path);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    spdlog::warn("{} sidecar for {} not persisted: {}", suffix, storage::ObjectCname(bucket, name),
                 st.ToString());
  }
}

// .xxs: magic "AISLXXS1", tag (u64 version, u64 xxhash, u64 size, i64 mtime_ns), u64 offset,
// u32 length + state, u64 XXH64 of all before (docs/formats/shard-index.md).
namespace {
constexpr std::string_view kXxsMagic = "AISLXXS1";
std::string EncodeXxs(const archive::IndexTag& tag, uint64_t offset, const std::string& state) {
  std::string s(kXxsMagic);
  for (uint64_t v :
       {tag.version, tag.xxhash, tag.size, static_cast<uint64_t>(tag.mtime_ns), offset})
    s.append(reinterpret_cast<const char*>(&v), 8);
  uint32_t n = static_cast<uint32_t>(state.size());
  s.append(reinterpret_cast<const char*>(&n), 4).append(state);
  uint64_t sum = Xxh64(s);
  return s.append(reinterpret_cast<const char*>(&sum), 8);
}
}  // namespace

std::string ShardCache::LoadHashState(std::string_view bucket, std::string_view name,
                                      const archive::IndexTag& tag, uint64_t offset) {
  auto path = store_->SidecarPath(bucket, name, ".xxs");
  if (!path.ok()) return {};
  auto data = ReadWholeFile(*path);
  constexpr size_t kFixed = 8 + 5 * 8 + 4;
  if (!data.ok() || data->size() < kFixed + 8) return {};
  std::string state = data->substr(kFixed, data->size() - kFixed - 8);
  // Same bytes when re-encoded for this tag and offset: magic, tag, offset, length, checksum.
  if (EncodeXxs(tag, offset, state) != *data) return {};
  return state;
}

void ShardCache::SaveHashState(std::string_view bucket, std::string_view name,
                               const archive::IndexTag& tag, uint64_t offset,
                               const std::string& state) {
  PersistSidecar(bucket, name, ".xxs", EncodeXxs(tag, offset, state));
}

void ShardCache::Install(std::string_view bucket, std::string_view name,
                         std::shared_ptr<archive::ShardIndex> index) {
  index->Finalize();
  Persist(bucket, name, *index);
  Remember(std::string(bucket) + '\0' + std::string(name), std::move(index));
}

Result<OpenShard> ShardCache::Open(std::string_view bucket, std::string_view name,
                                   archive::Format format) {
  OpenShard out;
  AISLE_ASSIGN_OR_RETURN(out.obj, store_->Get(bucket, name));
  archive::IndexTag tag = TagOf(out.obj.meta);
  Key key = std::string(bucket) + '\0' + std::string(name);
  // Member reads stay below the end of entries and never re-read the header, which an
  // in-place append leaves untouched: do not hold such appends off (ObjectReader::guard).
  // Index builds read the whole object, so the guard is released only once the index is here.
  if ((out.index = Lookup(key, tag))) {
    out.obj.ReleaseGuard();
    return out;
  }

  std::lock_guard<std::mutex> build(build_mu_[std::hash<std::string>()(key) % kStripes]);
  if ((out.index = Lookup(key, tag))) {  // built by the thread we waited for
    out.obj.ReleaseGuard();
    return out;
  }
  if (format == archive::Format::kUnknown) format = archive::FormatFromName(name);
  auto path = store_->SidecarPath(bucket, name, ".idx");
  if (path.ok()) {
    auto data = ReadWholeFile(*path);
    if (data.ok()) {
      auto idx = archive::ShardIndex::Decode(*data);
      if (idx.ok() && idx->tag == tag &&
          (format == archive::Format::kUnknown || idx->format == format)) {
        auto shared = std::make_shared<archive::ShardIndex>(std::move(idx).value());
        out.index = shared;
        Remember(key, shared);
        out.obj.ReleaseGuard();
        return out;
      }
    }
  }
  archive::FdSource src(out.obj.file->get(), out.obj.data_offset, out.obj.meta.size);
  auto built = archive::BuildIndex(src, format, limits_);
  if (!built.ok()) return built.status().WithContext(storage::ObjectCname(bucket, name));
  index_builds_.fetch_add(1, std::memory_order_relaxed);
  auto shared = std::make_shared<archive::ShardIndex>(std::move(built).value());
  shared->tag = tag;
  Persist(bucket, name, *shared);
  out.index = shared;
  Remember(key, shared);
  out.obj.ReleaseGuard();
  return out;
}

}  // namespace aisle::api
