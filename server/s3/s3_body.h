// BodyReader adapters for S3 writes, all streaming (a body is never held whole):
// hashing (MD5 ETag, Content-MD5 and x-amz-content-sha256 checks), aws-chunked decoding
// (with chunk-signature verification), and reading stored files back (copy, multipart).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/body.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_crypto.h"

namespace aisle::api::s3 {

// Passes bytes through while computing MD5 (and SHA-256 when expected_sha256_hex is set).
// At the end of the body a mismatch with the expected digests fails the read, so a store
// that commits only after EOF stores nothing.
class HashingReader : public BodyReader {
 public:
  HashingReader(BodyReader& inner, std::string expected_md5_raw, std::string expected_sha256_hex);
  Result<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> DeclaredLength() const override { return inner_.DeclaredLength(); }
  // Hex MD5 of everything read. REQUIRES: the body was read to the end.
  const std::string& md5_hex() const { return md5_hex_; }
  uint64_t bytes() const { return bytes_; }
  // Which check failed ("BadDigest", "XAmzContentSHA256Mismatch"), empty if none.
  const std::string& failed_check() const { return failed_; }

 private:
  BodyReader& inner_;
  Digest md5_{"MD5"};
  std::unique_ptr<Digest> sha_;
  std::string expected_md5_, expected_sha_, md5_hex_, failed_;
  uint64_t bytes_ = 0;
  bool done_ = false;
};

// Decodes Content-Encoding: aws-chunked ("<hex>[;chunk-signature=<sig>]\r\n<data>\r\n" ...
// "0...\r\n" [trailers] "\r\n"). With a verified AuthInfo and a signed streaming payload,
// each chunk's signature is checked when the chunk ends.
class AwsChunkedReader : public BodyReader {
 public:
  AwsChunkedReader(BodyReader& inner, std::optional<uint64_t> decoded_length,
                   const AuthInfo* verify);
  Result<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> DeclaredLength() const override { return decoded_length_; }
  // Which check failed ("SignatureDoesNotMatch" or "IncompleteBody"), empty if none.
  const std::string& failed_check() const { return failed_; }

 private:
  Result<char> Byte();
  Result<std::string> Line();
  Status EndChunk();

  BodyReader& inner_;
  std::optional<uint64_t> decoded_length_;
  const AuthInfo* verify_;
  std::string prev_sig_, chunk_sig_, failed_;
  std::unique_ptr<Digest> chunk_sha_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t remaining_ = 0;  // data left in the current chunk
  enum class State { kHeader, kData, kDone } state_ = State::kHeader;
};

// Reads [offset, offset+length) of files in sequence (stored object data, multipart parts).
class FileRangesReader : public BodyReader {
 public:
  struct Range {
    std::shared_ptr<void> owner;  // keeps fd open
    int fd = -1;
    uint64_t offset = 0, length = 0;
  };
  explicit FileRangesReader(std::vector<Range> ranges);
  Result<size_t> Read(char* buf, size_t n) override;
  std::optional<uint64_t> DeclaredLength() const override { return total_; }

 private:
  std::vector<Range> ranges_;
  size_t idx_ = 0;
  uint64_t done_in_range_ = 0, total_ = 0;
};

}  // namespace aisle::api::s3
