#include <algorithm>
#include <cstdio>

#include "cli/commands.h"

namespace aisle::cli {

int Fail(const Status& status) { return Fail(status.message()); }

int Fail(std::string_view message) {
  std::fprintf(stderr, "aisle: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitFailed;
}

int UsageError(std::string_view message) {
  std::fprintf(stderr, "aisle: %.*s\nRun with --help for more information.\n",
               static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

void PrintJson(const nlohmann::json& j) {
  std::string s = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

namespace {

// Terminal columns of a UTF-8 string, approximated as its code point count.
size_t DisplayWidth(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

}  // namespace

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string line;
  for (const auto& row : rows) {
    line.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
}

}  // namespace aisle::cli
