#include "fs/core/stream_upload.h"

#include <algorithm>
#include <cstring>

namespace aisle::fs {

class StreamUpload::Reader : public BodyReader {
 public:
  explicit Reader(StreamUpload* up) : up_(up) {}
  Result<size_t> Read(char* buf, size_t n) override { return up_->ReadBody(buf, n); }
  std::optional<uint64_t> DeclaredLength() const override { return std::nullopt; }

 private:
  StreamUpload* up_;
};

StreamUpload::StreamUpload(ClusterClient& client, std::string bucket, std::string key,
                           size_t max_buffered)
    : client_(client),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      max_buffered_(max_buffered) {
  thread_ = std::thread([this] { Run(); });
}

StreamUpload::~StreamUpload() { Abort(); }

void StreamUpload::Run() {
  Reader reader(this);
  PutBody body;
  body.reader = &reader;
  Result<ObjectHead> r = Status::Internal("upload threw");
  try {
    r = client_.Put(bucket_, key_, body);
  } catch (...) {
  }
  std::lock_guard lk(mu_);
  result_ = std::move(r);
  done_ = true;
  cv_.notify_all();
}

Result<size_t> StreamUpload::ReadBody(char* buf, size_t n) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return aborted_ || eof_ || !chunks_.empty(); });
  if (aborted_) return Status::Unavailable("upload aborted");
  if (chunks_.empty()) return size_t{0};  // eof
  std::string& c = chunks_.front();
  size_t k = std::min(n, c.size() - front_pos_);
  std::memcpy(buf, c.data() + front_pos_, k);
  front_pos_ += k;
  buffered_ -= k;
  if (front_pos_ == c.size()) {
    chunks_.pop_front();
    front_pos_ = 0;
  }
  cv_.notify_all();
  return k;
}

bool StreamUpload::Append(const char* data, size_t n) {
  std::unique_lock lk(mu_);
  cv_.wait(lk,
           [&] { return done_ || aborted_ || buffered_ + n <= max_buffered_ || buffered_ == 0; });
  if (done_ || aborted_ || eof_) return false;  // the PUT ended early: it failed
  chunks_.emplace_back(data, n);
  buffered_ += n;
  appended_ += n;
  cv_.notify_all();
  return true;
}

Result<ObjectHead> StreamUpload::Finish() {
  {
    std::lock_guard lk(mu_);
    if (aborted_) return Status::Unavailable("upload aborted");
    eof_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  return result_;
}

void StreamUpload::Abort() {
  {
    std::lock_guard lk(mu_);
    if (!done_) aborted_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace aisle::fs
