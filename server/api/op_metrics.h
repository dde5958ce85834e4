// Records a node's object requests into its metrics where the handler answers, so counts,
// times and byte totals are exact: a success is a 2xx answer (a proxy's redirect), an error a
// 4xx/5xx one. PUT bytes are those the handler read from the body; GET bytes those it answers
// with (a streamed body is counted as it is sent).
#pragma once

#include <cstdint>

#include "server/api/http_types.h"

namespace aisle::metrics {
struct TargetMetrics;
struct ProxyMetrics;
}  // namespace aisle::metrics

namespace aisle::api {

// Usage: TargetOpRecorder rec(m, req); <handle>; rec.Done(resp);  m may be null (no metrics).
class TargetOpRecorder {
 public:
  TargetOpRecorder(metrics::TargetMetrics* m, Request& req);
  ~TargetOpRecorder();  // restores req.body
  TargetOpRecorder(const TargetOpRecorder&) = delete;
  TargetOpRecorder& operator=(const TargetOpRecorder&) = delete;
  void Done(Response& resp);

 private:
  class CountingReader;
  metrics::TargetMetrics* m_;
  Request& req_;
  BodyReader* original_body_;
  std::unique_ptr<CountingReader> counting_;
  int64_t start_ns_;
};

// A proxy's object request (GET/PUT/HEAD/DELETE) with its answer; m may be null.
void RecordProxyObjectOp(metrics::ProxyMetrics* m, const Request& req, const Response& resp);

}  // namespace aisle::api
