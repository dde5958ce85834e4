// Multipart uploads, composed on Store's public API. Each upload is a directory
//   <first mountpath>/.aisle/s3-mpu/<upload-id>/upload.json   bucket, key, metadata
//                                              /<NNNNN>-<md5>  one file per part
// (a part is written aside and renamed in, so its name carries its ETag atomically).
// Completion streams the parts, in order, through Store::Put, so the object appears whole
// or not at all; then the directory is removed. Uploads survive restarts.
// Thread-safe: concurrent parts of one upload write distinct files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "server/api/s3/s3_body.h"
#include "server/storage/store.h"

namespace aisle::api::s3 {

inline constexpr uint64_t kMinPartSize = 5ull << 20;  // S3: all parts but the last
inline constexpr int kMaxPartNumber = 10000;

struct UploadInfo {
  std::string id, bucket, key;
  int64_t initiated_ns = 0;
  std::vector<std::pair<std::string, std::string>> custom;  // object metadata at create
};

struct PartInfo {
  int number = 0;
  std::string etag;  // hex MD5, no quotes
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// Errors carry S3 codes as message prefixes ("NoSuchUpload: ..."), see WriteS3Status.
class MultipartStore {
 public:
  explicit MultipartStore(storage::Store* store);

  Result<std::string> Create(std::string_view bucket, std::string_view key,
                             std::vector<std::pair<std::string, std::string>> custom);
  // Reads `body` to the end into part `number`; returns its ETag (hex MD5).
  Result<std::string> UploadPart(std::string_view bucket, std::string_view key, std::string_view id,
                                 int number, HashingReader& body);
  // Copies [offset, offset+length) of a stored object into a part (UploadPartCopy).
  Result<std::string> CopyPart(std::string_view bucket, std::string_view key, std::string_view id,
                               int number, BodyReader& src);
  Result<std::vector<PartInfo>> ListParts(std::string_view bucket, std::string_view key,
                                          std::string_view id) const;
  std::vector<UploadInfo> ListUploads(std::string_view bucket) const;
  // Assembles the listed parts (number, etag) into the object; returns its meta and the
  // multipart ETag (hex of MD5 of part MD5s, "-N").
  Result<std::pair<storage::ObjectMeta, std::string>> Complete(
      std::string_view bucket, std::string_view key, std::string_view id,
      const std::vector<std::pair<int, std::string>>& parts);
  Status Abort(std::string_view bucket, std::string_view key, std::string_view id);
  void AbortAll(std::string_view bucket);

 private:
  Result<UploadInfo> Load(std::string_view bucket, std::string_view key, std::string_view id) const;
  std::string Dir(std::string_view id) const { return root_ + "/" + std::string(id); }

  storage::Store* store_;
  std::string root_;
};

}  // namespace aisle::api::s3
