// LogRing: a bounded, thread-safe tail of text (children's stderr and runtime messages).
// Appends past the capacity drop the oldest bytes; Tail() returns what is left, newest last.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace aisle::etl {

class LogRing {
 public:
  static constexpr size_t kDefaultCapacity = 64 * 1024;

  explicit LogRing(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  void Append(std::string_view text);
  // Appends text followed by a newline when text does not end with one.
  void AppendLine(std::string_view line);
  std::string Tail() const;
  // The last `max_lines` lines (at most `max_bytes`), trimmed of trailing newlines.
  std::string LastLines(size_t max_lines, size_t max_bytes = 2048) const;

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::string buf_;  // kept at <= 2 * capacity_, compacted to capacity_ when it grows past
};

// The last `max_lines` lines of `text` (at most `max_bytes`), trimmed of trailing whitespace.
std::string LastLinesOf(std::string_view text, size_t max_lines, size_t max_bytes = 2048);

}  // namespace aisle::etl
