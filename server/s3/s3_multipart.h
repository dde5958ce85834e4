// Multipart uploads, composed on Store's public API. Each upload is a directory
//   <first mountpath>/.aisle/s3-mpu/<upload-id>/upload.json   bucket, key, metadata, layout
//                                              /assembly       the object file being built
//                                              /slot-<NNNNN>   claim of a region of assembly
//                                              /<NNNNN>-<md5>-<size>  part in assembly
//                                              /<NNNNN>-<md5>  part in a file of its own
// A part whose declared length fits the upload's part size (set by the first part of at
// least 5 MiB) is written straight into `assembly` at data_offset + (number-1) * part_size,
// data_offset being the header length of the object to be, so that completing parts
// 1..N of uniform size only hashes, writes the header, fsyncs and renames that file
// (Store::PutFile). A region is claimed once (slot file); re-uploads, parts of other sizes
// or undeclared length go to files of their own (written aside and renamed in, so the name
// carries the ETag atomically), and completion then copies the parts in the kernel
// (Store::PutRanges). Either way the object appears whole or not at all, and the directory
// is removed only after the commit. Uploads survive restarts.
// Thread-safe: concurrent parts of one upload write distinct files or distinct regions.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "server/s3/s3_body.h"
#include "server/storage/store.h"

namespace aisle::api::s3 {

inline constexpr uint64_t kMinPartSize = 5ull << 20;  // S3: all parts but the last
inline constexpr int kMaxPartNumber = 10000;

struct UploadInfo {
  std::string id, bucket, key;
  int64_t initiated_ns = 0;
  std::vector<std::pair<std::string, std::string>> custom;  // object metadata at create
  uint64_t data_offset = 0;  // where part data starts in assembly; 0: no assembly
  uint64_t part_size = 0;    // size of the assembly's regions; 0: not set yet
};

struct PartInfo {
  int number = 0;
  std::string etag;  // hex MD5, no quotes
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool assembled = false;  // in the assembly file, else in a file of its own
};

// Errors carry their S3 codes typed: a missing upload is kNotFound about Subject::kUpload,
// the rest carry an S3Code (s3_error.h); see WriteS3Status.
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
  Result<std::string> Write(std::string_view bucket, std::string_view key, std::string_view id,
                            int number, BodyReader& body, HashingReader* hashed);
  // Claims part `number`'s region of the assembly for a body of `len` bytes; returns the
  // region's file offset, or nullopt when the part must go to a file of its own.
  Result<std::optional<uint64_t>> Claim(std::string_view bucket, std::string_view key,
                                        std::string_view id, int number,
                                        std::optional<uint64_t> len);
  void EndWrite(std::string_view id);

  storage::Store* store_;
  std::string root_;
  // Per upload: assembly writers in flight, and completions running (which keep new parts
  // out of the assembly, so the file renamed into place cannot be written afterwards).
  std::mutex mu_;
  std::map<std::string, int, std::less<>> writers_;
  std::map<std::string, int, std::less<>> completing_;
  // Held while a finished part replaces the other versions of its number: two uploads of one
  // part that finish together must leave one of them, not remove each other. Striped by
  // upload id, so parts of different uploads do not wait on each other.
  std::mutex& PublishLock(std::string_view id) {
    return publish_mu_[std::hash<std::string_view>{}(id) % publish_mu_.size()];
  }
  std::array<std::mutex, 64> publish_mu_;
};

}  // namespace aisle::api::s3
