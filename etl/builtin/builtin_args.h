// Arguments of a built-in transform: "key=value,key=value" (EtlSpec::builtin_args as defaults,
// a request's etl_args overriding them key by key). Values cannot contain ','.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aisle::etl::builtin {

using Args = std::map<std::string, std::string, std::less<>>;

// Empty text (or only spaces) is no arguments. Keys and values are trimmed of spaces.
// A part without '=', an empty key or a repeated key is kInvalidArgument naming it.
Result<Args> ParseArgs(std::string_view text);
// defaults with every key of overrides replacing (or adding to) it.
Args MergeArgs(const Args& defaults, const Args& overrides);
// "k=v,k=v" (sorted by key); the inverse of ParseArgs.
std::string FormatArgs(const Args& args);

// kInvalidArgument "unknown argument 'k' (allowed: a, b)" for the first key not in allowed.
Status CheckKeys(const Args& args, std::initializer_list<std::string_view> allowed);
// Integer value of key in [lo, hi], or def when absent; bad value names key and value.
Result<int64_t> GetInt(const Args& args, std::string_view key, int64_t def, int64_t lo, int64_t hi);
// Value of key, or def when absent.
std::string GetString(const Args& args, std::string_view key, std::string_view def);
// kInvalidArgument "bad value 'v' for 'key' (want: what)".
Status BadValue(std::string_view key, std::string_view value, std::string_view want);

}  // namespace aisle::etl::builtin
