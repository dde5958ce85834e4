// The Prometheus text exposition format, version 0.0.4: one `# HELP` and one `# TYPE` line per
// metric family, then its samples `name{label="value",...} number`.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aisle::metrics {

// Content-Type of a scrape answer.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge };

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values escape backslash, double quote and newline; HELP text escapes backslash and
// newline (the format's two escaping rules).
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);

// Appends families to a text buffer. Samples must follow their family's header; names and
// label names must match [a-zA-Z_:][a-zA-Z0-9_:]* (they are ours, not user input).
class TextWriter {
 public:
  // `common`: labels put first on every sample (the node's node_id).
  explicit TextWriter(Labels common) : common_(std::move(common)) {}

  void Family(std::string_view name, std::string_view help, MetricType type);
  void Sample(std::string_view name, const Labels& labels, uint64_t value);
  void Sample(std::string_view name, const Labels& labels, double value);

  const std::string& text() const { return out_; }

 private:
  void Head(std::string_view name, const Labels& labels);

  Labels common_;
  std::string out_;
};

}  // namespace aisle::metrics
