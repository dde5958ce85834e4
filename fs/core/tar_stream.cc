#include "fs/core/tar_stream.h"

#include <algorithm>
#include <cstring>

namespace aisle::fs {
namespace {

constexpr size_t kBlock = 512;

// A numeric header field: octal text, or base-256 when the top bit of the first byte is set.
bool ParseNumber(const char* p, size_t n, uint64_t* out) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  if (u[0] & 0x80) {
    v = u[0] & 0x7f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 56) return false;
      v = (v << 8) | u[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\0')) ++i;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return false;
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  }
  *out = v;
  return true;
}

std::string CString(const char* p, size_t n) { return std::string(p, strnlen(p, n)); }

// The `path` record of a pax extended header ("LEN path=VALUE\n" records), or "".
std::string PaxPath(const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t sp = data.find(' ', pos);
    if (sp == std::string::npos) break;
    size_t len = 0;
    for (size_t i = pos; i < sp; ++i) {
      if (data[i] < '0' || data[i] > '9') return "";
      len = len * 10 + static_cast<size_t>(data[i] - '0');
    }
    if (len == 0 || pos + len > data.size()) return "";
    std::string rec = data.substr(sp + 1, pos + len - sp - 1);
    if (!rec.empty() && rec.back() == '\n') rec.pop_back();
    if (rec.rfind("path=", 0) == 0) return rec.substr(5);
    pos += len;
  }
  return "";
}

}  // namespace

TarStream::TarStream(MemberFn on_member, uint64_t max_member, bool skip_large)
    : on_member_(std::move(on_member)), max_member_(max_member), skip_large_(skip_large) {}

Status TarStream::OnHeader(const char* b) {
  if (std::all_of(b, b + kBlock, [](char c) { return c == '\0'; })) {
    ended_ = true;
    return Status::OK();
  }
  uint64_t sum = 0, want = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(b[i]);
  if (!ParseNumber(b + 148, 8, &want) || want != sum)
    return Status::IOError("tar stream: bad header checksum");
  if (!ParseNumber(b + 124, 12, &body_size_)) return Status::IOError("tar stream: bad size");
  type_ = b[156];
  bool meta = type_ == 'L' || type_ == 'x' || type_ == 'g';
  bool regular = type_ == '0' || type_ == '\0' || type_ == '7';
  skipping_ = false;
  if (body_size_ > max_member_) {
    if (!skip_large_ || meta)
      return Status::IOError("tar stream: member of " + std::to_string(body_size_) + " bytes");
    skipping_ = true;
    skip_left_ = body_size_;
  }
  name_ = CString(b, 100);
  if (std::memcmp(b + 257, "ustar", 5) == 0 && b[345] != '\0')
    name_ = CString(b + 345, 155) + "/" + name_;
  in_body_ = true;
  body_.clear();
  if (skipping_) {
    pad_left_ = (kBlock - body_size_ % kBlock) % kBlock;
    return Status::OK();
  }
  if (meta || regular) body_.reserve(body_size_);
  pad_left_ = (kBlock - body_size_ % kBlock) % kBlock;
  if (body_size_ == 0) return OnBodyDone();
  return Status::OK();
}

Status TarStream::OnBodyDone() {
  in_body_ = false;
  if (type_ == 'L') {
    long_name_ = CString(body_.data(), body_.size());
  } else if (type_ == 'x') {
    long_name_ = PaxPath(body_);
  } else if (type_ == '0' || type_ == '\0' || type_ == '7') {
    std::string name = long_name_.empty() ? name_ : long_name_;
    long_name_.clear();
    ++members_;
    AISLE_RETURN_IF_ERROR(on_member_(name, std::move(body_)));
  } else if (type_ != 'g') {
    long_name_.clear();  // a directory or link: nothing to deliver
  }
  body_.clear();
  return Status::OK();
}

Status TarStream::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (ended_) return Status::OK();  // the second zero block and any trailing padding
    if (skipping_) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(bytes.size(), skip_left_));
      skip_left_ -= k;
      bytes.remove_prefix(k);
      if (skip_left_ == 0) {
        skipping_ = in_body_ = false;
        long_name_.clear();
      }
      continue;
    }
    if (in_body_ && body_.size() < body_size_) {
      bool keep = type_ == 'L' || type_ == 'x' || type_ == '0' || type_ == '\0' || type_ == '7';
      size_t k = static_cast<size_t>(std::min<uint64_t>(bytes.size(), body_size_ - body_.size()));
      if (keep) {
        body_.append(bytes.data(), k);
      } else {
        body_.resize(body_.size() + k);  // skipped types: counted (bounded by max_member)
      }
      bytes.remove_prefix(k);
      if (body_.size() == body_size_) AISLE_RETURN_IF_ERROR(OnBodyDone());
      continue;
    }
    if (pad_left_ > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(bytes.size(), pad_left_));
      pad_left_ -= k;
      bytes.remove_prefix(k);
      continue;
    }
    in_body_ = false;
    size_t k = std::min(bytes.size(), kBlock - header_.size());
    header_.append(bytes.data(), k);
    bytes.remove_prefix(k);
    if (header_.size() == kBlock) {
      std::string h = std::move(header_);
      header_.clear();
      AISLE_RETURN_IF_ERROR(OnHeader(h.data()));
    }
  }
  return Status::OK();
}

Status TarStream::Finish() const {
  if (ended_) return Status::OK();
  if (header_.empty() && pad_left_ == 0 && !skipping_ && (!in_body_ || body_.size() == body_size_))
    return Status::OK();
  return Status::IOError("tar stream: cut short");
}

}  // namespace aisle::fs
