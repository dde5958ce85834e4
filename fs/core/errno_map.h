// The one translation table between Status and errno for the filesystem.
// Filesystem code raises POSIX-specific errors with ErrnoStatus(); ToErrno() maps any Status
// (including the cluster client's) to the errno the kernel gets.
#pragma once

#include <string_view>

#include "common/status.h"

namespace aisle::fs {

// A Status that carries `err` exactly (e.g. EISDIR, EXDEV, EROFS) plus a message for logs.
Status ErrnoStatus(int err, std::string_view what);

// ENOENT for kNotFound, EEXIST for kAlreadyExists, ENOSPC, EINVAL, ERANGE..., EIO for
// timeouts, unreachable nodes and everything else; the errno of an ErrnoStatus.
int ToErrno(const Status& st);

}  // namespace aisle::fs
