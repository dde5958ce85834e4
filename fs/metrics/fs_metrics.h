// FsMetrics: what one aisle-fs mount counts (FUSE operations, bytes, errors, requests to the
// cluster). The mount owns one and hands it to the filesystem, the FUSE callbacks and the
// cluster client; recording is one relaxed atomic add (server/metrics/counter.h).
#pragma once

#include <array>
#include <cstdint>

#include "server/metrics/counter.h"

namespace aisle::fs {

enum class FuseOp : uint8_t { kLookup, kGetattr, kRead, kReaddir, kWrite, kOpen, kCount };

inline const char* FuseOpName(FuseOp op) {
  static constexpr const char* kNames[] = {"lookup", "getattr", "read", "readdir", "write", "open"};
  return kNames[static_cast<int>(op)];
}

struct FsMetrics {
  static constexpr int kMaxErrno = 134;  // errno values above land in the last cell

  std::array<metrics::Counter, static_cast<size_t>(FuseOp::kCount)> ops;
  metrics::Counter read_bytes;                         // replied to read()
  metrics::Counter written_bytes;                      // accepted by write()
  std::array<metrics::Counter, kMaxErrno + 1> errors;  // FUSE replies by errno
  metrics::Counter http_requests;  // to cluster nodes (libcurl and plain-socket range GETs)
  metrics::Counter http_errors;    // of those: no answer, or a non-2xx status
  metrics::Counter local_reads;    // objects opened from a co-located target's files

  void Op(FuseOp op) { ops[static_cast<size_t>(op)].Add(); }
  void Error(int e) {
    if (e > 0) errors[e < kMaxErrno ? e : kMaxErrno].Add();
  }
  // One request: `ok` false when it got no answer or a non-2xx status.
  void Http(bool ok) {
    http_requests.Add();
    if (!ok) http_errors.Add();
  }
};

}  // namespace aisle::fs
