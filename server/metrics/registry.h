// Registry: the metric families a node exposes at GET /metrics. The node registers every
// family while it is built (counters it owns, values its services keep, gauges computed at
// scrape time); Render() then reads them all without stopping the request path.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/metrics/counter.h"
#include "server/metrics/prom_text.h"

namespace aisle::metrics {

// One sample of a family: its own labels (beside the common node_id) and a value.
struct Sample {
  Labels labels;
  double value = 0;
  uint64_t count = 0;
  bool integral = true;  // render `count`, else `value`

  static Sample Of(uint64_t n, Labels l = {}) { return {std::move(l), 0, n, true}; }
  static Sample Real(double v, Labels l = {}) { return {std::move(l), v, 0, false}; }
};

class Registry {
 public:
  using Collect = std::function<void(std::vector<Sample>&)>;

  // `common`: labels on every sample, e.g. {{"node_id", "t1"}}.
  explicit Registry(Labels common) : common_(std::move(common)) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // REQUIRES: every Add* happens before the first Render (the node registers while it is
  // built, before it serves); pointers and callbacks must outlive the registry's use.
  void Add(std::string name, std::string help, MetricType type, Collect collect);
  void AddCounter(std::string name, std::string help, const Counter* c);
  void AddGauge(std::string name, std::string help, std::function<double()> value);

  // The whole exposition text. Thread-safe (callbacks must be). Families with no samples
  // (e.g. no ETL has run yet) are left out.
  std::string Render() const;

 private:
  struct Family {
    std::string name, help;
    MetricType type;
    Collect collect;
  };
  Labels common_;
  std::vector<Family> families_;
};

}  // namespace aisle::metrics
