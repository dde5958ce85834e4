// The one translation table between Status and errno for the filesystem.
// Filesystem code raises POSIX-specific errors with ErrnoStatus(); ToErrno() maps any Status
// (including the cluster client's) to the errno the kernel gets, from typed fields only: the
// status's sys_errno() when it carries one, else a table over its code.
#pragma once

#include <string_view>

#include "common/status.h"

namespace aisle::fs {

// A Status that carries `err` exactly (e.g. EISDIR, EXDEV, EROFS) in sys_errno() (code
// kInternal), plus a message for logs: "what: strerror(err)".
Status ErrnoStatus(int err, std::string_view what);

// The errno an ErrnoStatus carries (unless it only says the transport failed: EAGAIN,
// ECONNRESET, ...); otherwise by code: ENOENT for kNotFound, EEXIST for kAlreadyExists, ENOSPC,
// EINVAL..., EIO for timeouts, unreachable nodes and everything else.
int ToErrno(const Status& st);

}  // namespace aisle::fs
