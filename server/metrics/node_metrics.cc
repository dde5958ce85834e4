#include "server/metrics/node_metrics.h"

#include <string>

namespace aisle::metrics {
namespace {

// AIStore's public names for one operation: <prefix>_<op>_count, _ns_total, _bytes,
// <prefix>_err_<op>_count (docs/METRICS.md).
enum Parts { kCounts = 0, kTime = 1, kBytes = 2 };

void RegisterOp(Registry& r, const std::string& prefix, const std::string& op,
                const std::string& what, const OpCounters& c, int parts) {
  r.AddCounter(prefix + op + "_count", "total number of executed " + what + " requests", &c.count);
  r.AddCounter(prefix + "err_" + op + "_count", "total number of " + what + " errors", &c.errors);
  if (parts & kTime)
    r.AddCounter(prefix + op + "_ns_total", what + ": total cumulative time (nanoseconds)",
                 &c.ns_total);
  if (parts & kBytes)
    r.AddCounter(prefix + op + "_bytes", what + ": total cumulative size (bytes)", &c.bytes);
}

// `scale` != 0: the count is exposed divided by it (nanoseconds as seconds).
void EtlFamily(Registry& r, const TargetMetrics& m, std::string name, std::string help,
               Counter EtlCounters::*field, double scale = 0) {
  r.Add(std::move(name), std::move(help), MetricType::kCounter,
        [&m, field, scale](std::vector<Sample>& out) {
          m.etl.ForEach([&](const std::string& etl, const EtlCounters& c) {
            uint64_t v = (c.*field).Value();
            out.push_back(scale != 0
                              ? Sample::Real(static_cast<double>(v) / scale, {{"etl_name", etl}})
                              : Sample::Of(v, {{"etl_name", etl}}));
          });
        });
}

}  // namespace

void RegisterTarget(Registry& r, const TargetMetrics& m) {
  const std::string p = "ais_target_";
  RegisterOp(r, p, "get", "GET(object)", m.get, kTime | kBytes);
  RegisterOp(r, p, "put", "PUT(object)", m.put, kTime | kBytes);
  RegisterOp(r, p, "head", "HEAD(object)", m.head, kTime);
  RegisterOp(r, p, "del", "DELETE(object)", m.del, kCounts);
  r.AddCounter(p + "lst_count", "total number of executed list-objects requests", &m.lst);
  r.AddCounter("aisle_shard_member_reads_total",
               "GETs of shard members (?archpath= or ?archregx=) answered 2xx",
               &m.shard_member_reads);
  EtlFamily(r, m, "aisle_etl_calls_total", "inline transform calls (GET ?etl_name=), by ETL",
            &EtlCounters::calls);
  EtlFamily(r, m, "aisle_etl_errors_total", "inline transform calls answered 4xx/5xx, by ETL",
            &EtlCounters::errors);
  EtlFamily(r, m, "aisle_etl_duration_seconds_total",
            "inline transform calls: total handler time (seconds), by ETL", &EtlCounters::ns_total,
            1e9);
}

void RegisterProxy(Registry& r, const ProxyMetrics& m) {
  const std::string p = "ais_proxy_";
  RegisterOp(r, p, "get", "GET(object)", m.get, kCounts);
  RegisterOp(r, p, "put", "PUT(object)", m.put, kCounts);
  RegisterOp(r, p, "head", "HEAD(object)", m.head, kCounts);
  RegisterOp(r, p, "del", "DELETE(object)", m.del, kCounts);
  r.AddCounter(p + "lst_count", "total number of executed list-objects requests", &m.lst);
}

void RegisterRequests(Registry& r, const RequestCounters& m) {
  r.Add("aisle_http_requests_total", "HTTP requests served by this node, by method",
        MetricType::kCounter, [&m](std::vector<Sample>& out) {
          for (size_t i = 0; i < RequestCounters::kMethods.size(); ++i)
            out.push_back(Sample::Of(m.Of(i).Value(),
                                     {{"method", std::string(RequestCounters::kMethods[i])}}));
        });
}

}  // namespace aisle::metrics
