#include "server/metrics/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "server/metrics/counter.h"
#include "server/metrics/node_metrics.h"
#include "server/metrics/prom_text.h"

namespace aisle::metrics {
namespace {

TEST(PromTextTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("plain/mp-1"), "plain/mp-1");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  // HELP keeps double quotes as they are.
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(PromTextTest, FamiliesAndSamples) {
  TextWriter w(Labels{{"node_id", "t1"}});
  w.Family("x_total", "counts x", MetricType::kCounter);
  w.Sample("x_total", {}, uint64_t{18446744073709551615u});
  w.Sample("x_total", {{"etl_name", "a\"b"}}, uint64_t{0});
  w.Family("y", "a gauge", MetricType::kGauge);
  w.Sample("y", {}, 1.5);
  w.Sample("y", {}, 1e300 * 1e300);
  EXPECT_EQ(w.text(),
            "# HELP x_total counts x\n"
            "# TYPE x_total counter\n"
            "x_total{node_id=\"t1\"} 18446744073709551615\n"
            "x_total{node_id=\"t1\",etl_name=\"a\\\"b\"} 0\n"
            "# HELP y a gauge\n"
            "# TYPE y gauge\n"
            "y{node_id=\"t1\"} 1.5\n"
            "y{node_id=\"t1\"} +Inf\n");
}

TEST(PromTextTest, NoLabelsNoBraces) {
  TextWriter w(Labels{});
  w.Family("up", "h", MetricType::kGauge);
  w.Sample("up", {}, uint64_t{1});
  EXPECT_EQ(w.text(), "# HELP up h\n# TYPE up gauge\nup 1\n");
}

TEST(CounterTest, ConcurrentAddsAreExact) {
  Counter c;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.Add();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 400000u);
}

TEST(LabeledSetTest, SameLabelSameCellAcrossThreads) {
  LabeledSet<Counter> set;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) set.Get("etl-" + std::to_string(i % 7))->Add();
    });
  for (auto& t : ts) t.join();
  size_t labels = 0;
  uint64_t total = 0;
  set.ForEach([&](const std::string& l, const Counter& c) {
    ++labels;
    total += c.Value();
    EXPECT_EQ(l.rfind("etl-", 0), 0u);
  });
  EXPECT_EQ(labels, 7u);
  EXPECT_EQ(total, 80000u);
  EXPECT_EQ(set.Get("etl-3"), set.Get("etl-3"));
}

TEST(LabeledSetTest, TooManyLabelsShareTheOverflowCell) {
  LabeledSet<Counter> set;
  for (size_t i = 0; i < LabeledSet<Counter>::kMaxLabels + 50; ++i)
    set.Get("n" + std::to_string(i))->Add();
  size_t labels = 0;
  uint64_t other = 0;
  set.ForEach([&](const std::string& l, const Counter& c) {
    ++labels;
    if (l == LabeledSet<Counter>::kOverflowLabel) other = c.Value();
  });
  EXPECT_EQ(labels, LabeledSet<Counter>::kMaxLabels + 1);
  EXPECT_EQ(other, 50u);
  // Labels seen before the cap keep their own cell.
  EXPECT_NE(set.Get("n0"), set.Get("brand-new"));
}

TEST(RegistryTest, RendersEveryFamilyAndSkipsEmptyOnes) {
  Registry r(Labels{{"node_id", "p1"}});
  Counter c;
  c.Add(3);
  r.AddCounter("aisle_a_total", "a", &c);
  r.AddGauge("aisle_b", "b", [] { return 0.25; });
  r.Add("aisle_none_total", "never sampled", MetricType::kCounter, [](std::vector<Sample>&) {});
  r.Add("aisle_c_bytes", "c", MetricType::kGauge, [](std::vector<Sample>& out) {
    out.push_back(Sample::Of(7, {{"mountpath", "/m/1"}}));
  });
  EXPECT_EQ(r.Render(),
            "# HELP aisle_a_total a\n# TYPE aisle_a_total counter\naisle_a_total{node_id=\"p1\"} "
            "3\n"
            "# HELP aisle_b b\n# TYPE aisle_b gauge\naisle_b{node_id=\"p1\"} 0.25\n"
            "# HELP aisle_c_bytes c\n# TYPE aisle_c_bytes gauge\n"
            "aisle_c_bytes{node_id=\"p1\",mountpath=\"/m/1\"} 7\n");
}

TEST(NodeMetricsTest, TargetFamiliesUseAistoreNames) {
  Registry r(Labels{{"node_id", "t1"}});
  TargetMetrics m;
  RegisterTarget(r, m);
  m.get.count.Add(2);
  m.get.bytes.Add(20480);
  m.etl.Get("md5")->calls.Add();
  m.etl.Get("md5")->ns_total.Add(1500000000);
  std::string text = r.Render();
  for (const char* line :
       {"ais_target_get_count{node_id=\"t1\"} 2\n", "ais_target_get_bytes{node_id=\"t1\"} 20480\n",
        "ais_target_get_ns_total{node_id=\"t1\"} 0\n",
        "ais_target_err_get_count{node_id=\"t1\"} 0\n", "ais_target_put_count{node_id=\"t1\"} 0\n",
        "ais_target_put_bytes{node_id=\"t1\"} 0\n", "ais_target_del_count{node_id=\"t1\"} 0\n",
        "ais_target_lst_count{node_id=\"t1\"} 0\n",
        "aisle_etl_calls_total{node_id=\"t1\",etl_name=\"md5\"} 1\n",
        "aisle_etl_duration_seconds_total{node_id=\"t1\",etl_name=\"md5\"} 1.5\n",
        "# TYPE ais_target_get_count counter\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(NodeMetricsTest, RequestsByMethod) {
  Registry r(Labels{});
  RequestCounters q;
  RegisterRequests(r, q);
  q.Record("GET");
  q.Record("GET");
  q.Record("BREW");
  std::string text = r.Render();
  EXPECT_NE(text.find("aisle_http_requests_total{method=\"GET\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("aisle_http_requests_total{method=\"OTHER\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace aisle::metrics
