#include "fs/core/path_scheme.h"

#include "common/archive/archive_format.h"

namespace aisle::fs {

bool IsShardName(std::string_view name) {
  std::string_view ext = archive::ShardExtension(name);
  return !ext.empty() && name.size() > ext.size();  // ".tar" alone is a name, not a shard
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
