// The counters a node records on its request path, grouped by who records them, and the
// names they are exposed under (AIStore's where AIStore has one, e.g. ais_target_get_count;
// aisle_* otherwise). docs/METRICS.md lists every metric.
#pragma once

#include <array>
#include <string_view>

#include "server/metrics/counter.h"
#include "server/metrics/registry.h"

namespace aisle::metrics {

// One object operation kind: successes, errors, their time and bytes.
struct OpCounters {
  Counter count;     // answered 2xx
  Counter errors;    // answered 4xx/5xx (redirects are neither)
  Counter ns_total;  // handler time of the successes, nanoseconds
  Counter bytes;     // object bytes sent (GET) or received (PUT) by the successes
};

// Inline transforms, per ETL name.
struct EtlCounters {
  Counter calls;     // GET ?etl_name= requests answered (any status)
  Counter errors;    // of those, answered 4xx/5xx
  Counter ns_total;  // handler time of all calls, nanoseconds
};

// A target's native-API object traffic (recorded by TargetApi, server/native).
struct TargetMetrics {
  OpCounters get, put, head, del;
  Counter lst;                 // list-objects pages served
  Counter shard_member_reads;  // GETs of ?archpath= / ?archregx= answered 2xx
  LabeledSet<EtlCounters> etl;
};

// A proxy's object traffic: requests it redirected (or refused) (recorded by ProxyApi).
struct ProxyMetrics {
  OpCounters get, put, head, del;
  Counter lst;  // list-objects requests merged
};

// Every request a node served, by method (recorded by the node's front handler).
class RequestCounters {
 public:
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",    "HEAD",  "PUT",  "POST",
                                                               "DELETE", "PATCH", "OTHER"};
  void Record(std::string_view method) {
    size_t i = 0;
    while (i + 1 < kMethods.size() && kMethods[i] != method) ++i;
    by_method_[i].Add();
  }
  const Counter& Of(size_t i) const { return by_method_[i]; }

 private:
  std::array<Counter, kMethods.size()> by_method_;
};

// Registers the families of each set (names and help text in one place).
void RegisterTarget(Registry& r, const TargetMetrics& m);
void RegisterProxy(Registry& r, const ProxyMetrics& m);
void RegisterRequests(Registry& r, const RequestCounters& m);

}  // namespace aisle::metrics
