#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

namespace aisle {

namespace {
constexpr size_t kRecentLines = 2000;
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v";

// Per-thread line context, read by the JSON formatter (which runs on the logging thread:
// the loggers are synchronous).
thread_local const std::string* t_request_id = nullptr;
thread_local const std::string* t_extra = nullptr;  // ,"k":v... already JSON

void Put(std::string_view s, spdlog::memory_buf_t& out) {
  out.append(s.data(), s.data() + s.size());
}

void AppendJsonString(std::string_view s, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': Put(std::string_view("\\\""), out); break;
      case '\\': Put(std::string_view("\\\\"), out); break;
      case '\n': Put(std::string_view("\\n"), out); break;
      case '\r': Put(std::string_view("\\r"), out); break;
      case '\t': Put(std::string_view("\\t"), out); break;
      default:
        if (c < 0x20) {
          char u[8];
          std::snprintf(u, sizeof u, "\\u%04x", c);
          Put(std::string_view(u, 6), out);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string JsonString(std::string_view s) {
  spdlog::memory_buf_t b;
  AppendJsonString(s, b);
  return std::string(b.data(), b.size());
}

class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string node) : node_(std::move(node)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    int n = std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          static_cast<int>(ms % 1000));
    Put(std::string_view("{\"ts\":\""), dest);
    Put(std::string_view(ts, static_cast<size_t>(n)), dest);
    Put(std::string_view("\",\"level\":"), dest);
    auto lvl = spdlog::level::to_string_view(msg.level);
    AppendJsonString(std::string_view(lvl.data(), lvl.size()), dest);
    Put(std::string_view(",\"node\":"), dest);
    AppendJsonString(node_, dest);
    Put(std::string_view(",\"msg\":"), dest);
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    if (t_request_id) {
      Put(std::string_view(",\"req\":"), dest);
      AppendJsonString(*t_request_id, dest);
    }
    if (t_extra) Put(std::string_view(*t_extra), dest);
    Put(std::string_view("}\n"), dest);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(node_);
  }

 private:
  std::string node_;
};

}  // namespace

void InitLogging(std::string_view level, std::string_view node_name, std::string_view format) {
  std::string name(node_name.empty() ? "aisle" : node_name);
  auto logger = spdlog::stderr_color_mt(name);
  // The last lines stay in memory too, for GET /v1/daemon?what=log.
  logger->sinks().push_back(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kRecentLines));
  spdlog::set_default_logger(logger);
  if (format == "json")
    logger->set_formatter(std::make_unique<JsonFormatter>(name));
  else
    spdlog::set_pattern(kTextPattern);
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") lvl = spdlog::level::info;
  spdlog::set_level(lvl);
}

void SetJsonLogNode(std::string_view node_name) {
  if (!node_name.empty())
    spdlog::default_logger()->set_formatter(
        std::make_unique<JsonFormatter>(std::string(node_name)));
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

ScopedLogRequest::ScopedLogRequest(const std::string& request_id) : prev_(t_request_id) {
  t_request_id = &request_id;
}

ScopedLogRequest::~ScopedLogRequest() { t_request_id = prev_; }

void LogAccess(const AccessEntry& e) {
  // The fields go only into JSON lines (the text formatter does not read t_extra).
  std::string extra =
      ",\"method\":" + JsonString(e.method) + ",\"path\":" + JsonString(e.path) +
      ",\"status\":" + std::to_string(e.status) + ",\"bytes\":" + std::to_string(e.bytes) +
      ",\"duration_ms\":" + fmt::format("{:.3f}", e.ms) + ",\"remote\":" + JsonString(e.remote);
  t_extra = &extra;
  spdlog::info("{} {} {} {}B {:.3f}ms", e.method, e.path, e.status, e.bytes, e.ms);
  t_extra = nullptr;
}

}  // namespace aisle
