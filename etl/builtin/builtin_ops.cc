#include "etl/builtin/builtin_ops.h"

namespace aisle::etl::builtin {
namespace {

constexpr BuiltinOp kOps[] = {
    {"identity", ValidateNoArgs, RunIdentity},
    {"md5", ValidateNoArgs, RunMd5},
    {"sha256", ValidateNoArgs, RunSha256},
    {"xxhash", ValidateNoArgs, RunXxhash},
    {"decompress", ValidateDecompress, RunDecompress},
    {"image-resize", ValidateImageResize, RunImageResize},
    {"shard-map", ValidateShardMap, RunShardMap},
};

}  // namespace

const BuiltinOp* FindBuiltin(std::string_view name) {
  for (const auto& op : kOps) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::string BuiltinNames() {
  std::string out;
  for (const auto& op : kOps) {
    if (!out.empty()) out += ", ";
    out += op.name;
  }
  return out;
}

}  // namespace aisle::etl::builtin
