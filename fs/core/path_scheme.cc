#include "fs/core/path_scheme.h"

namespace aisle::fs {

bool IsShardName(std::string_view name) {
  static constexpr std::string_view kExt[] = {".tar", ".tgz",     ".tar.gz",
                                              ".zip", ".tar.lz4", ".tar.zst"};
  for (auto e : kExt) {
    if (name.size() > e.size() && name.substr(name.size() - e.size()) == e) return true;
  }
  return false;
}

bool ValidComponent(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && name.size() <= 255;
}

std::string JoinKey(std::string_view key, std::string_view name) {
  std::string out(key);
  if (!out.empty()) out += '/';
  out += name;
  return out;
}

}  // namespace aisle::fs
