#include "server/api/s3/s3_multipart.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "server/api/s3/s3_crypto.h"
#include "server/storage/file_util.h"

namespace aisle::api::s3 {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ValidId(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status NoSuchUpload(std::string_view id) {
  return Status::NotFound("NoSuchUpload: The specified upload does not exist (" + std::string(id) +
                          ")");
}

std::vector<std::string> ReadDirNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

// "<NNNNN>-<md5hex>" -> (number, md5); false for anything else (temp files).
bool ParsePartName(const std::string& n, int* number, std::string* md5) {
  if (n.size() != 5 + 1 + 32 || n[5] != '-') return false;
  if (n.find_first_not_of("0123456789", 0) < 5) return false;
  *number = std::stoi(n.substr(0, 5));
  *md5 = n.substr(6);
  return true;
}

std::string PartPrefix(int number) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%05d", number);
  return buf;
}

}  // namespace

MultipartStore::MultipartStore(storage::Store* store)
    : store_(store), root_(store->mountpaths()[0] + "/.aisle/s3-mpu") {}

Result<std::string> MultipartStore::Create(
    std::string_view bucket, std::string_view key,
    std::vector<std::pair<std::string, std::string>> custom) {
  AISLE_RETURN_IF_ERROR(store_->HeadBucket(bucket).status());
  std::string id = storage::RandomHex(32);
  std::string dir = Dir(id);
  AISLE_RETURN_IF_ERROR(storage::MakeDirs(dir));
  nlohmann::json j = {{"bucket", bucket},
                      {"key", key},
                      {"initiated_ns", NowNs()},
                      {"custom", nlohmann::json::array()}};
  for (auto& [k, v] : custom) j["custom"].push_back({k, v});
  std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

// Writes `body` to dir/<NNNNN>-<md5>; returns the md5 hex.
Result<std::string> WritePart(const std::string& dir, int number, BodyReader& body,
                              HashingReader* hashed) {
  std::string tmp = dir + "/tmp-" + storage::RandomHex(16);
  AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
  Digest md5("MD5");
  std::vector<char> buf(1 << 20);
  Status st;
  for (;;) {
    auto n = body.Read(buf.data(), buf.size());
    if (!n.ok()) {
      st = n.status();
      break;
    }
    if (*n == 0) break;
    if (!hashed) md5.Update(buf.data(), *n);
    st = storage::WriteAll(fh.get(), buf.data(), *n, tmp);
    if (!st.ok()) break;
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  std::string hex = hashed ? hashed->md5_hex() : ToHex(md5.Final());
  std::string prefix = PartPrefix(number);
  std::string final_path = dir + "/" + prefix + "-" + hex;
  if (Status r = storage::RenameFile(tmp, final_path); !r.ok()) {
    ::unlink(tmp.c_str());
    return r;
  }
  // A re-uploaded part replaces the earlier one.
  for (const auto& n : ReadDirNames(dir)) {
    if (n.rfind(prefix + "-", 0) == 0 && dir + "/" + n != final_path)
      ::unlink((dir + "/" + n).c_str());
  }
  return hex;
}

}  // namespace

Result<std::string> MultipartStore::UploadPart(std::string_view bucket, std::string_view key,
                                               std::string_view id, int number,
                                               HashingReader& body) {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  return WritePart(Dir(id), number, body, &body);
}

Result<std::string> MultipartStore::CopyPart(std::string_view bucket, std::string_view key,
                                             std::string_view id, int number, BodyReader& src) {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  return WritePart(Dir(id), number, src, nullptr);
}

Result<std::vector<PartInfo>> MultipartStore::ListParts(std::string_view bucket,
                                                        std::string_view key,
                                                        std::string_view id) const {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  std::vector<PartInfo> parts;
  for (const auto& n : ReadDirNames(Dir(id))) {
    PartInfo p;
    if (!ParsePartName(n, &p.number, &p.etag)) continue;
    struct stat sb;
    if (::stat((Dir(id) + "/" + n).c_str(), &sb) != 0) continue;
    p.size = static_cast<uint64_t>(sb.st_size);
    p.mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
    parts.push_back(std::move(p));
  }
  std::sort(parts.begin(), parts.end(),
            [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
  return parts;
}

std::vector<UploadInfo> MultipartStore::ListUploads(std::string_view bucket) const {
  std::vector<UploadInfo> out;
  for (const auto& id : ReadDirNames(root_)) {
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
    return Status::InvalidArgument("MalformedXML: the upload must list at least one part");
  std::map<int, const PartInfo*> by_number;
  for (const auto& p : have) by_number[p.number] = &p;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].first <= parts[i - 1].first)
      return Status::InvalidArgument(
          "InvalidPartOrder: The list of parts was not in ascending order.");
  }
  std::vector<FileRangesReader::Range> ranges;
  std::string md5s;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto [number, etag] = parts[i];
    etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
    std::transform(etag.begin(), etag.end(), etag.begin(), ::tolower);
    auto it = by_number.find(number);
    if (it == by_number.end() || it->second->etag != etag)
      return Status::InvalidArgument("InvalidPart: part " + std::to_string(number) +
                                     " was not uploaded or its ETag does not match");
    if (i + 1 < parts.size() && it->second->size < kMinPartSize)
      return Status::InvalidArgument("EntityTooSmall: part " + std::to_string(number) +
                                     " is smaller than the minimum allowed size (5 MiB)");
    std::string path = Dir(id) + "/" + PartPrefix(number) + "-" + etag;
    AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(path, O_RDONLY));
    auto owner = std::make_shared<storage::FileHandle>(std::move(fh));
    ranges.push_back({owner, owner->get(), 0, it->second->size});
    std::string raw;
    for (size_t k = 0; k + 1 < etag.size(); k += 2)
      raw += static_cast<char>(std::stoi(etag.substr(k, 2), nullptr, 16));
    md5s += raw;
  }
  std::string etag = ToHex(Md5(md5s)) + "-" + std::to_string(parts.size());
  FileRangesReader body(std::move(ranges));
  storage::PutOptions opts;
  opts.custom = u.custom;
  opts.custom.emplace_back("ETag", etag);
  AISLE_ASSIGN_OR_RETURN(auto meta, store_->Put(bucket, key, body, opts));
  (void)storage::RemoveTree(Dir(id));
  return std::make_pair(std::move(meta), etag);
}

Status MultipartStore::Abort(std::string_view bucket, std::string_view key, std::string_view id) {
  AISLE_RETURN_IF_ERROR(Load(bucket, key, id).status());
  return storage::RemoveTree(Dir(id));
}

void MultipartStore::AbortAll(std::string_view bucket) {
  for (const auto& u : ListUploads(bucket)) (void)storage::RemoveTree(Dir(u.id));
}

}  // namespace aisle::api::s3
