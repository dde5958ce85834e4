#include "server/s3/s3_multipart.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/clock.h"
#include "server/s3/s3_crypto.h"
#include "server/s3/s3_error.h"
#include "server/storage/file_util.h"
#include "server/storage/object_meta.h"
#include "server/storage/work_dirs.h"

namespace aisle::api::s3 {
namespace {

bool ValidId(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status NoSuchUpload(std::string_view id) {
  return Status::NotFound("The specified upload does not exist (" + std::string(id) + ")")
      .WithSubject(Subject::kUpload);
}

// "<NNNNN>-<md5hex>" (own file) or "<NNNNN>-<md5hex>-<size>" (in assembly) -> number, md5,
// size (nullopt for an own file); false for anything else (temp files, slots).
bool ParsePartName(const std::string& n, int* number, std::string* md5,
                   std::optional<uint64_t>* size) {
  if (n.size() < 5 + 1 + 32 || n[5] != '-') return false;
  if (n.find_first_not_of("0123456789", 0) < 5) return false;
  if (n.find_first_not_of("0123456789abcdef", 6) < 6 + 32) return false;
  *number = std::stoi(n.substr(0, 5));
  *md5 = n.substr(6, 32);
  size->reset();
  if (n.size() == 6 + 32) return true;
  std::string tail = n.substr(6 + 32);
  if (tail.size() < 2 || tail.size() > 21 || tail[0] != '-' ||
      tail.find_first_not_of("0123456789", 1) != std::string::npos)
    return false;
  *size = std::stoull(tail.substr(1));
  return true;
}

std::string PartPrefix(int number) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%05d", number);
  return buf;
}

// The object's metadata with the longest multipart ETag ("<32 hex>-10000"): its header
// length is where part data starts in the assembly (the real ETag is rarely shorter by a
// 4 KiB boundary; completion then copies instead).
uint64_t AssemblyDataOffset(std::string_view key,
                            const std::vector<std::pair<std::string, std::string>>& custom) {
  storage::ObjectMeta m;
  m.name = std::string(key);
  m.custom = custom;
  m.custom.emplace_back("ETag", std::string(32, '0') + "-" + std::to_string(kMaxPartNumber));
  std::sort(m.custom.begin(), m.custom.end());
  return storage::EncodedHeaderLen(m);
}

nlohmann::json UploadJson(const UploadInfo& u) {
  nlohmann::json j = {{"bucket", u.bucket},
                      {"key", u.key},
                      {"initiated_ns", u.initiated_ns},
                      {"custom", nlohmann::json::array()},
                      {"data_offset", u.data_offset},
                      {"part_size", u.part_size}};
  for (auto& [k, v] : u.custom) j["custom"].push_back({k, v});
  return j;
}

constexpr const char* kAssembly = "assembly";

std::string SlotName(int number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "slot-%05d", number);
  return buf;
}

}  // namespace

MultipartStore::MultipartStore(storage::Store* store)
    : store_(store), root_(storage::S3UploadsDir(store->mountpaths()[0])) {}

Result<std::string> MultipartStore::Create(
    std::string_view bucket, std::string_view key,
    std::vector<std::pair<std::string, std::string>> custom) {
  AISLE_RETURN_IF_ERROR(store_->HeadBucket(bucket).status());
  std::string id = storage::RandomHex(32);
  std::string dir = Dir(id);
  AISLE_RETURN_IF_ERROR(storage::MakeDirs(dir));
  UploadInfo u;
  u.bucket = std::string(bucket);
  u.key = std::string(key);
  u.initiated_ns = NowNs();
  u.data_offset = AssemblyDataOffset(key, custom);
  u.custom = std::move(custom);
  std::string text = UploadJson(u).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string path = dir + "/upload.json";
  AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(path + ".tmp", O_CREAT | O_TRUNC | O_WRONLY));
  AISLE_RETURN_IF_ERROR(storage::WriteAll(fh.get(), text.data(), text.size(), path));
  AISLE_RETURN_IF_ERROR(storage::RenameFile(path + ".tmp", path));
  return id;
}

Result<UploadInfo> MultipartStore::Load(std::string_view bucket, std::string_view key,
                                        std::string_view id) const {
  if (!ValidId(id)) return NoSuchUpload(id);
  std::string path = Dir(id) + "/upload.json";
  auto fh = storage::OpenFile(path, O_RDONLY);
  if (!fh.ok()) return NoSuchUpload(id);
  std::string text(64 * 1024, '\0');
  AISLE_ASSIGN_OR_RETURN(size_t n,
                         storage::PreadUpTo(fh->get(), text.data(), text.size(), 0, path));
  text.resize(n);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return NoSuchUpload(id);
  UploadInfo u;
  u.id = std::string(id);
  u.bucket = j.value("bucket", "");
  u.key = j.value("key", "");
  u.initiated_ns = j.value("initiated_ns", int64_t{0});
  u.data_offset = j.value("data_offset", uint64_t{0});  // absent in older uploads
  u.part_size = j.value("part_size", uint64_t{0});
  if (j.contains("custom") && j["custom"].is_array()) {
    for (const auto& kv : j["custom"]) {
      if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
        u.custom.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  if (u.bucket != bucket || (!key.empty() && u.key != key)) return NoSuchUpload(id);
  return u;
}

namespace {

char* PartBuffer() {
  static thread_local std::unique_ptr<char[]> buf(new char[1 << 20]);
  return buf.get();
}

// Reads `body` to its end into fd from `off` on, at most `max` bytes; returns the byte count
// and the md5 hex (the HashingReader's, else computed here).
Result<std::pair<uint64_t, std::string>> Drain(BodyReader& body, HashingReader* hashed, int fd,
                                               uint64_t off, uint64_t max,
                                               const std::string& what) {
  Digest md5("MD5");
  char* buf = PartBuffer();
  uint64_t total = 0;
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t n, body.Read(buf, 1 << 20));
    if (n == 0) break;
    if (total + n > max) return Status::InvalidArgument(what + ": body longer than declared");
    if (!hashed) md5.Update(buf, n);
    AISLE_RETURN_IF_ERROR(storage::PwriteAll(fd, buf, n, off + total, what));
    total += n;
  }
  return std::make_pair(total, hashed ? hashed->md5_hex() : ToHex(md5.Final()));
}

// A re-uploaded part replaces the earlier one (own file or assembly marker).
void RemoveOtherVersions(const std::string& dir, int number, const std::string& keep) {
  std::string prefix = PartPrefix(number) + "-";
  for (const auto& n : storage::ListDirNames(dir)) {
    if (n.rfind(prefix, 0) == 0 && n != keep) ::unlink((dir + "/" + n).c_str());
  }
}

// Writes `body` to dir/<NNNNN>-<md5>; returns the md5 hex. `publish` is held while the part
// replaces other versions of its number.
Result<std::string> WritePart(const std::string& dir, int number, BodyReader& body,
                              HashingReader* hashed, std::mutex& publish) {
  std::string tmp = dir + "/tmp-" + storage::RandomHex(16);
  AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
  auto drained = Drain(body, hashed, fh.get(), 0, UINT64_MAX, tmp);
  if (!drained.ok()) {
    ::unlink(tmp.c_str());
    return drained.status();
  }
  std::string name = PartPrefix(number) + "-" + drained->second;
  std::lock_guard<std::mutex> l(publish);
  if (Status r = storage::RenameFile(tmp, dir + "/" + name); !r.ok()) {
    ::unlink(tmp.c_str());
    return r;
  }
  RemoveOtherVersions(dir, number, name);
  return drained->second;
}

}  // namespace

Result<std::optional<uint64_t>> MultipartStore::Claim(std::string_view bucket, std::string_view key,
                                                      std::string_view id, int number,
                                                      std::optional<uint64_t> len) {
  std::lock_guard<std::mutex> l(mu_);
  if (completing_.count(id) || !len || *len == 0) return std::optional<uint64_t>();
  // Loaded under mu_: the part size may have just been set by another part.
  AISLE_ASSIGN_OR_RETURN(UploadInfo u, Load(bucket, key, id));
  if (u.data_offset == 0) return std::optional<uint64_t>();
  if (u.part_size == 0) {
    if (*len < kMinPartSize) return std::optional<uint64_t>();  // may be the last part
    u.part_size = *len;
    std::string text = UploadJson(u).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    AISLE_RETURN_IF_ERROR(storage::WriteFileAtomic(Dir(id) + "/upload.json", text));
  }
  if (*len > u.part_size) return std::optional<uint64_t>();
  std::string slot = Dir(id) + "/" + SlotName(number);
  int fd = ::open(slot.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return std::optional<uint64_t>();  // written before, or being written
    return Status::FromErrno(errno, "create " + slot);
  }
  ::close(fd);
  ++writers_[std::string(id)];
  return std::optional<uint64_t>(u.data_offset + (number - 1) * u.part_size);
}

void MultipartStore::EndWrite(std::string_view id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = writers_.find(id);
  if (it != writers_.end() && --it->second == 0) writers_.erase(it);
}

Result<std::string> MultipartStore::Write(std::string_view bucket, std::string_view key,
                                          std::string_view id, int number, BodyReader& body,
                                          HashingReader* hashed) {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  std::optional<uint64_t> len = body.DeclaredLength();
  AISLE_ASSIGN_OR_RETURN(std::optional<uint64_t> off, Claim(bucket, key, id, number, len));
  std::string dir = Dir(id);
  if (!off) return WritePart(dir, number, body, hashed, PublishLock(id));
  // In place, in the assembly. A failure frees the slot (the region holds no listed part).
  std::string slot = dir + "/" + SlotName(number);
  auto written = [&]() -> Result<std::string> {
    std::string path = dir + "/" + kAssembly;
    AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(path, O_CREAT | O_WRONLY));
    AISLE_ASSIGN_OR_RETURN(auto drained, Drain(body, hashed, fh.get(), *off, *len, path));
    // Start writeback now (no wait), so the completion's fsync finds little left to write.
    (void)::sync_file_range(fh.get(), static_cast<off_t>(*off), static_cast<off_t>(drained.first),
                            SYNC_FILE_RANGE_WRITE);
    std::string marker =
        PartPrefix(number) + "-" + drained.second + "-" + std::to_string(drained.first);
    std::lock_guard<std::mutex> l(PublishLock(id));
    AISLE_RETURN_IF_ERROR(
        storage::OpenFile(dir + "/" + marker, O_CREAT | O_WRONLY | O_TRUNC).status());
    RemoveOtherVersions(dir, number, marker);
    return drained.second;
  }();
  if (!written.ok()) ::unlink(slot.c_str());
  EndWrite(id);
  return written;
}

Result<std::string> MultipartStore::UploadPart(std::string_view bucket, std::string_view key,
                                               std::string_view id, int number,
                                               HashingReader& body) {
  return Write(bucket, key, id, number, body, &body);
}

Result<std::string> MultipartStore::CopyPart(std::string_view bucket, std::string_view key,
                                             std::string_view id, int number, BodyReader& src) {
  return Write(bucket, key, id, number, src, nullptr);
}

Result<std::vector<PartInfo>> MultipartStore::ListParts(std::string_view bucket,
                                                        std::string_view key,
                                                        std::string_view id) const {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  std::vector<PartInfo> parts;
  // No assembly after a crash between its commit and the removal of the directory.
  bool have_assembly = storage::PathExists(Dir(id) + "/" + kAssembly);
  for (const auto& n : storage::ListDirNames(Dir(id))) {
    PartInfo p;
    std::optional<uint64_t> assembled_size;
    if (!ParsePartName(n, &p.number, &p.etag, &assembled_size)) continue;
    if (assembled_size && !have_assembly) continue;
    struct stat sb;
    if (::stat((Dir(id) + "/" + n).c_str(), &sb) != 0) continue;
    p.size = assembled_size.value_or(static_cast<uint64_t>(sb.st_size));
    p.assembled = assembled_size.has_value();
    p.mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
    parts.push_back(std::move(p));
  }
  std::sort(parts.begin(), parts.end(),
            [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
  return parts;
}

std::vector<UploadInfo> MultipartStore::ListUploads(std::string_view bucket) const {
  std::vector<UploadInfo> out;
  for (const auto& id : storage::ListDirNames(root_)) {
    auto u = Load(bucket, "", id);
    if (u.ok()) out.push_back(std::move(u).value());
  }
  std::sort(out.begin(), out.end(), [](const UploadInfo& a, const UploadInfo& b) {
    return a.key != b.key ? a.key < b.key : a.initiated_ns < b.initiated_ns;
  });
  return out;
}

Result<std::pair<storage::ObjectMeta, std::string>> MultipartStore::Complete(
    std::string_view bucket, std::string_view key, std::string_view id,
    const std::vector<std::pair<int, std::string>>& parts) {
  AISLE_ASSIGN_OR_RETURN(UploadInfo u, Load(bucket, key, id));
  AISLE_ASSIGN_OR_RETURN(auto have, ListParts(bucket, key, id));
  if (parts.empty())
    return WithS3Code(Status::InvalidArgument("the upload must list at least one part"),
                      S3Code::kMalformedXML);
  std::map<int, const PartInfo*> by_number;
  for (const auto& p : have) by_number[p.number] = &p;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].first <= parts[i - 1].first)
      return WithS3Code(Status::InvalidArgument("The list of parts was not in ascending order."),
                        S3Code::kInvalidPartOrder);
  }
  std::vector<storage::FileRange> ranges;
  std::vector<storage::FileHandle> open_files;  // keep the ranges' fds open
  std::string asm_path = Dir(id) + "/" + kAssembly;
  int asm_fd = -1;
  // Uniform parts 1..N all in the assembly, none after them: the assembly is the object.
  bool in_place = true;
  uint64_t total = 0;
  std::string md5s;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto [number, etag] = parts[i];
    etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
    std::transform(etag.begin(), etag.end(), etag.begin(), ::tolower);
    auto it = by_number.find(number);
    if (it == by_number.end() || it->second->etag != etag)
      return WithS3Code(Status::InvalidArgument("part " + std::to_string(number) +
                                                " was not uploaded or its ETag does not match"),
                        S3Code::kInvalidPart);
    const PartInfo& p = *it->second;
    bool last = i + 1 == parts.size();
    if (!last && p.size < kMinPartSize)
      return WithS3Code(
          Status::InvalidArgument("part " + std::to_string(number) +
                                  " is smaller than the minimum allowed size (5 MiB)"),
          S3Code::kEntityTooSmall);
    if (p.assembled) {
      if (asm_fd < 0) {
        AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(asm_path, O_RDONLY));
        asm_fd = fh.get();
        open_files.push_back(std::move(fh));
      }
      ranges.push_back({asm_fd, u.data_offset + (number - 1) * u.part_size, p.size});
    } else {
      std::string path = Dir(id) + "/" + PartPrefix(number) + "-" + etag;
      AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(path, O_RDONLY));
      ranges.push_back({fh.get(), 0, p.size});
      open_files.push_back(std::move(fh));
    }
    in_place = in_place && p.assembled && number == static_cast<int>(i + 1) &&
               (last ? p.size <= u.part_size : p.size == u.part_size);
    total += p.size;
    std::string raw;
    for (size_t k = 0; k + 1 < etag.size(); k += 2)
      raw += static_cast<char>(std::stoi(etag.substr(k, 2), nullptr, 16));
    md5s += raw;
  }
  // Renaming the assembly would take along (and truncate away) parts uploaded after these.
  for (const auto& p : have)
    in_place = in_place && !(p.assembled && p.number > static_cast<int>(parts.size()));
  std::string etag = ToHex(Md5(md5s)) + "-" + std::to_string(parts.size());
  storage::PutOptions opts;
  opts.custom = u.custom;
  opts.custom.emplace_back("ETag", etag);
  {
    std::lock_guard<std::mutex> l(mu_);
    ++completing_[std::string(id)];  // no new writer into the assembly from here on
    in_place = in_place && writers_.count(id) == 0;
  }
  auto meta = in_place ? store_->PutFile(bucket, key, asm_path, u.data_offset, total, opts)
                       : store_->PutRanges(bucket, key, ranges, opts);
  if (meta.ok()) (void)storage::RemoveTree(Dir(id));
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = completing_.find(id);
    if (--it->second == 0) completing_.erase(it);
  }
  AISLE_RETURN_IF_ERROR(meta.status());
  return std::make_pair(std::move(meta).value(), etag);
}

Status MultipartStore::Abort(std::string_view bucket, std::string_view key, std::string_view id) {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  return storage::RemoveTree(Dir(id));
}

void MultipartStore::AbortAll(std::string_view bucket) {
  for (const auto& u : ListUploads(bucket)) (void)storage::RemoveTree(Dir(u.id));
}

}  // namespace aisle::api::s3
