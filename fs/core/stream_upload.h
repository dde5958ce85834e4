// StreamUpload: a PUT that runs while the application is still writing. Sequential writes
// are appended to a bounded in-memory queue that a background thread feeds to
// ClusterClient::Put as a chunked body, so close() waits only for the tail of a large file.
// The caller keeps a spool copy too (WriteSpool), so any failure or out-of-order write
// falls back to a plain PUT of the spool; this class never has to recover bytes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "common/body.h"
#include "common/result.h"
#include "fs/client/cluster_client.h"

namespace aisle::fs {

class StreamUpload {
 public:
  // Starts the PUT at once. `max_buffered` bounds the queued bytes (Append blocks above it).
  StreamUpload(ClusterClient& client, std::string bucket, std::string key,
               size_t max_buffered = 16 << 20);
  ~StreamUpload();  // aborts an unfinished upload and joins its thread
  StreamUpload(const StreamUpload&) = delete;
  StreamUpload& operator=(const StreamUpload&) = delete;

  // Queues bytes; false when the upload already failed (the caller falls back to the spool).
  bool Append(const char* data, size_t n);
  // Ends the body and waits for the PUT's answer.
  Result<ObjectHead> Finish();
  // Makes the body fail so the server discards it; waits for the thread.
  void Abort();
  uint64_t appended() const { return appended_; }
  const std::string& key() const { return key_; }

 private:
  class Reader;
  void Run();
  Result<size_t> ReadBody(char* buf, size_t n);

  ClusterClient& client_;
  const std::string bucket_, key_;
  const size_t max_buffered_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;  // GUARDED_BY(mu_)
  size_t front_pos_ = 0;            // consumed bytes of chunks_.front()
  size_t buffered_ = 0;
  bool eof_ = false, aborted_ = false, done_ = false;
  Result<ObjectHead> result_{Status::Internal("upload not finished")};
  uint64_t appended_ = 0;
  std::thread thread_;
};

}  // namespace aisle::fs
