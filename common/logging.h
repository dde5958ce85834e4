// Logging: spdlog, leveled, to stderr (and the last lines kept in memory for GET
// /v1/daemon?what=log). Include only from .cc files.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace aisle {

// level: trace|debug|info|warn|error|off. Unknown levels fall back to info.
void InitLogging(std::string_view level, std::string_view node_name);

// The default logger's most recent formatted lines (at most `limit`, oldest first); empty when
// InitLogging was not called (tests).
std::vector<std::string> RecentLogLines(size_t limit);

}  // namespace aisle
