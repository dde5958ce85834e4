// The namespace of the mount (design §7): what each inode stands for, and name rules.
//   /BUCKET/a/b/obj                  objects; prefixes are directories
//   /BUCKET/s/shard.tar/member       a shard shown as a directory of its members
//   /.raw/BUCKET/s/shard.tar         shards as plain files (raw bytes)
//   /.etl/NAME/BUCKET/...            the same tree read through transform NAME
// A single-bucket mount drops the BUCKET level (/.raw/s/shard.tar, /.etl/NAME/...).
#pragma once

#include <string>
#include <string_view>

namespace aisle::fs {

enum class Kind {
  kRoot,       // mount root: buckets (cluster mount) or the bucket's top level
  kVirtual,    // /.raw, /.etl, /.etl/NAME: roots of the other views
  kBucket,     // a bucket's top level
  kDir,        // a prefix "key/"
  kFile,       // an object
  kShard,      // a shard object shown as a directory
  kMemberDir,  // a directory inside a shard
  kMember,     // a shard member
};

enum class View { kNormal, kRaw, kEtl };

inline bool IsDirKind(Kind k) { return k != Kind::kFile && k != Kind::kMember; }

// Where an inode points into the cluster. Which fields matter depends on Kind:
// kDir/kFile/kShard: bucket + key (prefix without the trailing '/', or object name);
// kMemberDir/kMember: bucket + key (the shard object) + member (path inside the shard).
struct Location {
  View view = View::kNormal;
  std::string etl;  // transform name (View::kEtl)
  std::string bucket;
  std::string key;
  std::string member;
};

inline constexpr std::string_view kRawDirName = ".raw";
inline constexpr std::string_view kEtlDirName = ".etl";

// True for names the server lists as shards (archive::ShardExtension).
bool IsShardName(std::string_view name);
// A valid single path component for an object name (no '/', not "." or "..", not empty).
bool ValidComponent(std::string_view name);
// key + "/" + name, or name when key is empty.
std::string JoinKey(std::string_view key, std::string_view name);

}  // namespace aisle::fs
