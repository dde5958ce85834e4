#include "etl/process/log_ring.h"

#include <algorithm>

namespace aisle::etl {

void LogRing::Append(std::string_view text) {
  if (text.empty()) return;
  std::lock_guard lock(mu_);
  if (text.size() >= capacity_) {
    buf_.assign(text.substr(text.size() - capacity_));
    return;
  }
  buf_.append(text);
  if (buf_.size() > 2 * capacity_) buf_.erase(0, buf_.size() - capacity_);
}

void LogRing::AppendLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    Append(line);
  } else {
    std::string s(line);
    s.push_back('\n');
    Append(s);
  }
}

std::string LogRing::Tail() const {
  std::lock_guard lock(mu_);
  if (buf_.size() <= capacity_) return buf_;
  return buf_.substr(buf_.size() - capacity_);
}

std::string LogRing::LastLines(size_t max_lines, size_t max_bytes) const {
  return LastLinesOf(Tail(), max_lines, max_bytes);
}

std::string LastLinesOf(std::string_view text, size_t max_lines, size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.empty() || max_lines == 0) return "";
  size_t start = text.size();
  size_t lines = 0;
  while (start > 0) {
    size_t nl = text.rfind('\n', start - 1);
    if (nl == std::string_view::npos) {
      start = 0;
      break;
    }
    if (++lines == max_lines) {
      start = nl + 1;
      break;
    }
    start = nl;
  }
  std::string_view tail = text.substr(start);
  if (tail.size() > max_bytes) tail = tail.substr(tail.size() - max_bytes);
  return std::string(tail);
}

}  // namespace aisle::etl
