// Small text helpers shared by the HTTP client, server and argument parsers.
#pragma once

#include <strings.h>

#include <string_view>

namespace aisle {

// ASCII case-insensitive equality (HTTP header names, tokens).
inline bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Without leading and trailing blanks (spaces, tabs, CR, LF).
inline std::string_view TrimSpace(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace aisle
