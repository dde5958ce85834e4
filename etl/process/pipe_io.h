// Deadline-bounded reads and writes on the non-blocking pipe ends of a ChildProcess.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace aisle::etl {

enum class PipeIo { kOk, kTimeout, kEof, kError };

// Writes all of `data` (EPIPE is kEof). SIGPIPE is never raised.
PipeIo WriteAllFd(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline);
// Reads exactly n bytes; kEof when the writer closed first.
PipeIo ReadExactFd(int fd, char* buf, size_t n, std::chrono::steady_clock::time_point deadline);

}  // namespace aisle::etl
