#include "common/logging.h"

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <string>

namespace aisle {

namespace {
constexpr size_t kRecentLines = 2000;
}

void InitLogging(std::string_view level, std::string_view node_name) {
  auto logger = spdlog::stderr_color_mt(std::string(node_name.empty() ? "aisle" : node_name));
  // The last lines stay in memory too, for GET /v1/daemon?what=log.
  logger->sinks().push_back(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kRecentLines));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") lvl = spdlog::level::info;
  spdlog::set_level(lvl);
}

std::vector<std::string> RecentLogLines(size_t limit) {
  auto logger = spdlog::default_logger();
  if (!logger) return {};
  for (const auto& sink : logger->sinks()) {
    if (auto ring = std::dynamic_pointer_cast<spdlog::sinks::ringbuffer_sink_mt>(sink))
      return ring->last_formatted(limit);
  }
  return {};
}

}  // namespace aisle
