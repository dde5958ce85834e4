#include "fs/core/errno_map.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace aisle::fs {
namespace {

// Errnos that say the transport failed, not the file: the kernel gets EIO for them (like for
// timeouts and unreachable nodes), never "try again" or "connection refused" on a read.
bool TransportErrno(int err) {
  switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ENOTCONN:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN: return true;
    default: return false;
  }
}

int ErrnoForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 0;
    case StatusCode::kNotFound: return ENOENT;
    case StatusCode::kAlreadyExists: return EEXIST;
    case StatusCode::kConflict: return EBUSY;
    case StatusCode::kInvalidArgument: return EINVAL;
    case StatusCode::kRangeNotSatisfiable: return EINVAL;
    case StatusCode::kTooLarge: return EFBIG;
    case StatusCode::kNoSpace: return ENOSPC;
    case StatusCode::kUnsupported: return ENOTSUP;
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kDataCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal: return EIO;
  }
  return EIO;
}

}  // namespace

Status ErrnoStatus(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Status(StatusCode::kInternal, std::move(msg)).WithErrno(err);
}

int ToErrno(const Status& st) {
  if (st.ok()) return 0;
  // The errno the filesystem layer chose (ErrnoStatus: kInternal + errno), whatever context
  // was added. Errnos of other steps (a local pread, a spool write) map by their code, as
  // every other error does: a reader sees EIO, ENOENT, ENOSPC..., never an EBADF of ours.
  if (int e = st.sys_errno(); e > 0 && st.code() == StatusCode::kInternal && !TransportErrno(e))
    return e;
  return ErrnoForCode(st.code());
}

}  // namespace aisle::fs
