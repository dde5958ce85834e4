#include "server/metrics/prom_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace aisle::metrics {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void TextWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += EscapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == MetricType::kCounter ? " counter\n" : " gauge\n";
}

void TextWriter::Head(std::string_view name, const Labels& labels) {
  out_ += name;
  if (common_.empty() && labels.empty()) return;
  out_ += '{';
  bool first = true;
  for (const Labels* set : {static_cast<const Labels*>(&common_), &labels}) {
    for (const auto& [k, v] : *set) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += EscapeLabelValue(v);
      out_ += '"';
    }
  }
  out_ += '}';
}

void TextWriter::Sample(std::string_view name, const Labels& labels, uint64_t value) {
  Head(name, labels);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_ += ' ';
  out_.append(buf, r.ptr);
  out_ += '\n';
}

void TextWriter::Sample(std::string_view name, const Labels& labels, double value) {
  Head(name, labels);
  out_ += ' ';
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", value);
    out_.append(buf, static_cast<size_t>(n));
  }
  out_ += '\n';
}

}  // namespace aisle::metrics
