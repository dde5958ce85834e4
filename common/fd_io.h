// Whole-buffer writes to a file descriptor: retries EINTR and short writes. Shared by the
// storage engine, the CLI and anything else that writes a buffer to an fd.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace aisle {

// Writes all of `data` to `fd`; an error names `what` (a path, or what the fd is).
Status WriteAll(int fd, std::string_view data, const std::string& what);

}  // namespace aisle
