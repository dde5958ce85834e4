#include "server/s3/s3_body.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace aisle::api::s3 {

HashingReader::HashingReader(BodyReader& inner, std::string expected_md5_raw,
                             std::string expected_sha256_hex)
    : inner_(inner),
      expected_md5_(std::move(expected_md5_raw)),
      expected_sha_(std::move(expected_sha256_hex)) {
  if (!expected_sha_.empty()) sha_ = std::make_unique<Digest>("SHA256");
}

Result<size_t> HashingReader::Read(char* buf, size_t n) {
  if (done_) return size_t{0};
  AISLE_ASSIGN_OR_RETURN(size_t got, inner_.Read(buf, n));
  if (got > 0) {
    md5_.Update(buf, got);
    if (sha_) sha_->Update(buf, got);
    bytes_ += got;
    return got;
  }
  done_ = true;
  std::string md5 = md5_.Final();
  md5_hex_ = ToHex(md5);
  if (!expected_md5_.empty() && md5 != expected_md5_) {
    failed_ = "BadDigest";
    return Status::DataCorruption("The Content-MD5 you specified did not match what we received.");
  }
  if (sha_ && ToHex(sha_->Final()) != expected_sha_) {
    failed_ = "XAmzContentSHA256Mismatch";
    return Status::DataCorruption(
        "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return size_t{0};
}

AwsChunkedReader::AwsChunkedReader(BodyReader& inner, std::optional<uint64_t> decoded_length,
                                   const AuthInfo* verify)
    : inner_(inner), decoded_length_(decoded_length), verify_(verify), buf_(64 * 1024) {
  if (verify_) prev_sig_ = verify_->seed_signature;
}

Result<char> AwsChunkedReader::Byte() {
  if (pos_ == len_) {
    AISLE_ASSIGN_OR_RETURN(size_t n, inner_.Read(buf_.data(), buf_.size()));
    if (n == 0) {
      failed_ = "IncompleteBody";
      return Status::InvalidArgument("aws-chunked body ended early");
    }
    pos_ = 0;
    len_ = n;
  }
  return buf_[pos_++];
}

Result<std::string> AwsChunkedReader::Line() {
  std::string line;
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(char c, Byte());
    if (c == '\n') break;
    line += c;
    if (line.size() > 4096) return Status::InvalidArgument("aws-chunked: line too long");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Status AwsChunkedReader::EndChunk() {
  if (!verify_) return Status::OK();
  std::string want = ChunkSignature(*verify_, prev_sig_, ToHex(chunk_sha_->Final()));
  if (!SafeEqual(want, chunk_sig_)) {
    failed_ = "SignatureDoesNotMatch";
    return Status::InvalidArgument("aws-chunked: chunk signature does not match");
  }
  prev_sig_ = want;
  return Status::OK();
}

Result<size_t> AwsChunkedReader::Read(char* out, size_t n) {
  for (;;) {
    if (state_ == State::kDone) return size_t{0};
    if (state_ == State::kData) {
      if (remaining_ == 0) {
        AISLE_ASSIGN_OR_RETURN(std::string crlf, Line());
        if (!crlf.empty()) return Status::InvalidArgument("aws-chunked: missing CRLF after chunk");
        AISLE_RETURN_IF_ERROR(EndChunk());
        state_ = State::kHeader;
        continue;
      }
      if (pos_ == len_) {
        AISLE_ASSIGN_OR_RETURN(size_t got, inner_.Read(buf_.data(), buf_.size()));
        if (got == 0) {
          failed_ = "IncompleteBody";
          return Status::InvalidArgument("aws-chunked body ended early");
        }
        pos_ = 0;
        len_ = got;
      }
      size_t take = std::min<uint64_t>({n, remaining_, len_ - pos_});
      std::memcpy(out, buf_.data() + pos_, take);
      if (chunk_sha_) chunk_sha_->Update(out, take);
      pos_ += take;
      remaining_ -= take;
      return take;
    }
    // kHeader: "<hex-size>[;chunk-signature=<sig>]"
    AISLE_ASSIGN_OR_RETURN(std::string line, Line());
    size_t semi = line.find(';');
    std::string hex = line.substr(0, semi);
    chunk_sig_.clear();
    if (semi != std::string::npos) {
      std::string_view ext = std::string_view(line).substr(semi + 1);
      constexpr std::string_view kSig = "chunk-signature=";
      if (ext.substr(0, kSig.size()) == kSig) chunk_sig_ = std::string(ext.substr(kSig.size()));
    }
    if (hex.empty() || hex.size() > 15 ||
        hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return Status::InvalidArgument("aws-chunked: bad chunk header \"" + line + "\"");
    uint64_t size = std::stoull(hex, nullptr, 16);
    if (verify_ && chunk_sig_.empty()) {
      failed_ = "SignatureDoesNotMatch";
      return Status::InvalidArgument("aws-chunked: chunk without a signature");
    }
    chunk_sha_ = verify_ ? std::make_unique<Digest>("SHA256") : nullptr;
    if (size > 0) {
      remaining_ = size;
      state_ = State::kData;
      continue;
    }
    // Last chunk, then optional trailers (x-amz-checksum-*, x-amz-trailer-signature) and CRLF.
    AISLE_RETURN_IF_ERROR(EndChunk());
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(std::string t, Line());
      if (t.empty()) break;
    }
    state_ = State::kDone;
    return size_t{0};
  }
}

FileRangesReader::FileRangesReader(std::vector<Range> ranges) : ranges_(std::move(ranges)) {
  for (const auto& r : ranges_) total_ += r.length;
}

Result<size_t> FileRangesReader::Read(char* buf, size_t n) {
  while (idx_ < ranges_.size() && done_in_range_ == ranges_[idx_].length) {
    ++idx_;
    done_in_range_ = 0;
  }
  if (idx_ == ranges_.size()) return size_t{0};
  const Range& r = ranges_[idx_];
  size_t want = std::min<uint64_t>(n, r.length - done_in_range_);
  for (;;) {
    ssize_t got = ::pread(r.fd, buf, want, static_cast<off_t>(r.offset + done_in_range_));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::FromErrno(errno, "reading source data");
    if (got == 0) return Status::IOError("source data shorter than expected");
    done_in_range_ += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
}

}  // namespace aisle::api::s3
