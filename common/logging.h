// Logging: spdlog, leveled, to stderr. Include only from .cc files.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace aisle {

// level: trace|debug|info|warn|error|off. Unknown levels fall back to info.
void InitLogging(std::string_view level, std::string_view node_name);

}  // namespace aisle
