// The table of built-in transforms: each validates its arguments and runs on one object.
// Shared by the factory (etl/builtin/builtin_factory.cc) and shard-map (which runs an inner
// built-in on every member).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "etl/builtin/builtin_args.h"

namespace aisle::etl::builtin {

struct BuiltinCall {
  std::string_view data;
  std::string_view object;  // object (or "shard/member") name; used to detect formats
  const Args* args = nullptr;
  uint64_t max_output = 0;  // a larger result is kTooLarge
};

struct BuiltinOp {
  std::string_view name;
  // Checks keys and values; the message names the bad key. complete = false for the spec's
  // defaults alone, which may leave required keys to the request (shard-map's inner).
  Status (*validate)(const Args& args, bool complete);
  Result<std::string> (*run)(const BuiltinCall& call);
};

// nullptr for an unknown name.
const BuiltinOp* FindBuiltin(std::string_view name);
// "identity, md5, ..." for error messages.
std::string BuiltinNames();

// The transforms, one file each.
Status ValidateNoArgs(const Args& args, bool complete);
Result<std::string> RunIdentity(const BuiltinCall& call);
Result<std::string> RunMd5(const BuiltinCall& call);
Result<std::string> RunSha256(const BuiltinCall& call);
Result<std::string> RunXxhash(const BuiltinCall& call);
Status ValidateDecompress(const Args& args, bool complete);
Result<std::string> RunDecompress(const BuiltinCall& call);
Status ValidateImageResize(const Args& args, bool complete);
Result<std::string> RunImageResize(const BuiltinCall& call);
Status ValidateShardMap(const Args& args, bool complete);
Result<std::string> RunShardMap(const BuiltinCall& call);

}  // namespace aisle::etl::builtin
