#include "etl/builtin/builtin_args.h"

#include <charconv>

#include "common/text.h"

namespace aisle::etl::builtin {

Result<Args> ParseArgs(std::string_view text) {
  Args out;
  if (TrimSpace(text).empty()) return out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = TrimSpace(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (part.empty()) continue;  // tolerate "a=1,,b=2" and a trailing comma
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("bad argument '" + std::string(part) + "' (want key=value)");
    }
    std::string_view key = TrimSpace(part.substr(0, eq));
    std::string_view value = TrimSpace(part.substr(eq + 1));
    if (key.empty()) {
      return Status::InvalidArgument("bad argument '" + std::string(part) + "' (empty key)");
    }
    if (!out.emplace(std::string(key), std::string(value)).second) {
      return Status::InvalidArgument("argument '" + std::string(key) + "' given twice");
    }
  }
  return out;
}

Args MergeArgs(const Args& defaults, const Args& overrides) {
  Args out = defaults;
  for (const auto& [k, v] : overrides) out[k] = v;
  return out;
}

std::string FormatArgs(const Args& args) {
  std::string out;
  for (const auto& [k, v] : args) {
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Status CheckKeys(const Args& args, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : args) {
    bool found = false;
    for (std::string_view a : allowed) found = found || a == k;
    if (found) continue;
    std::string list;
    for (std::string_view a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Status::InvalidArgument("unknown argument '" + k +
                                   "' (allowed: " + (list.empty() ? "none" : list) + ")");
  }
  return Status::OK();
}

Result<int64_t> GetInt(const Args& args, std::string_view key, int64_t def, int64_t lo,
                       int64_t hi) {
  auto it = args.find(key);
  if (it == args.end()) return def;
  const std::string& s = it->second;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    return BadValue(key, s, "an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

std::string GetString(const Args& args, std::string_view key, std::string_view def) {
  auto it = args.find(key);
  return it == args.end() ? std::string(def) : it->second;
}

Status BadValue(std::string_view key, std::string_view value, std::string_view want) {
  return Status::InvalidArgument("bad value '" + std::string(value) + "' for '" + std::string(key) +
                                 "' (want " + std::string(want) + ")");
}

}  // namespace aisle::etl::builtin
