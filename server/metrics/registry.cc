#include "server/metrics/registry.h"

namespace aisle::metrics {

void Registry::Add(std::string name, std::string help, MetricType type, Collect collect) {
  families_.push_back({std::move(name), std::move(help), type, std::move(collect)});
}

void Registry::AddCounter(std::string name, std::string help, const Counter* c) {
  Add(std::move(name), std::move(help), MetricType::kCounter,
      [c](std::vector<Sample>& out) { out.push_back(Sample::Of(c->Value())); });
}

void Registry::AddGauge(std::string name, std::string help, std::function<double()> value) {
  Add(std::move(name), std::move(help), MetricType::kGauge,
      [value = std::move(value)](std::vector<Sample>& out) {
        out.push_back(Sample::Real(value()));
      });
}

std::string Registry::Render() const {
  TextWriter w(common_);
  std::vector<Sample> samples;
  for (const auto& f : families_) {
    samples.clear();
    f.collect(samples);
    if (samples.empty()) continue;
    w.Family(f.name, f.help, f.type);
    for (const auto& s : samples) {
      if (s.integral) {
        w.Sample(f.name, s.labels, s.count);
      } else {
        w.Sample(f.name, s.labels, s.value);
      }
    }
  }
  return w.text();
}

}  // namespace aisle::metrics
