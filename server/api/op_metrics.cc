#include "server/api/op_metrics.h"

#include <chrono>

#include "server/metrics/node_metrics.h"

namespace aisle::api {
namespace {

int64_t MonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Ok(int status) { return status >= 200 && status < 300; }
bool Failed(int status) { return status >= 400; }

// A response body counted into `bytes` as the transport pulls it.
class CountingStream : public BodyReader {
 public:
  CountingStream(std::shared_ptr<BodyReader> inner, metrics::Counter* bytes)
      : inner_(std::move(inner)), bytes_(bytes) {}
  Result<size_t> Read(char* buf, size_t n) override {
    auto r = inner_->Read(buf, n);
    if (r.ok()) bytes_->Add(*r);
    return r;
  }
  std::optional<uint64_t> DeclaredLength() const override { return inner_->DeclaredLength(); }

 private:
  std::shared_ptr<BodyReader> inner_;
  metrics::Counter* bytes_;
};

}  // namespace

// The request body as the handler reads it, counted (plain integer: one handler thread).
class TargetOpRecorder::CountingReader : public BodyReader {
 public:
  explicit CountingReader(BodyReader* inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override {
    auto r = inner_->Read(buf, n);
    if (r.ok()) read_ += *r;
    return r;
  }
  std::optional<uint64_t> DeclaredLength() const override { return inner_->DeclaredLength(); }
  uint64_t read() const { return read_; }

 private:
  BodyReader* inner_;
  uint64_t read_ = 0;
};

TargetOpRecorder::TargetOpRecorder(metrics::TargetMetrics* m, Request& req)
    : m_(m), req_(req), original_body_(req.body), start_ns_(m ? MonoNs() : 0) {
  if (m_ && req.method == "PUT" && req.body) {
    counting_ = std::make_unique<CountingReader>(req.body);
    req.body = counting_.get();
  }
}

TargetOpRecorder::~TargetOpRecorder() { req_.body = original_body_; }

void TargetOpRecorder::Done(Response& resp) {
  if (!m_) return;
  const uint64_t ns = static_cast<uint64_t>(MonoNs() - start_ns_);
  const std::string& method = req_.method;
  const int status = resp.status;
  metrics::OpCounters* op = nullptr;
  if (method == "GET") {
    op = &m_->get;
    if (auto etl = req_.Query("etl_name")) {
      metrics::EtlCounters* e = m_->etl.Get(*etl);
      e->calls.Add();
      e->ns_total.Add(ns);
      if (Failed(status)) e->errors.Add();
    }
    if (Ok(status) && (req_.Query("archpath") || req_.Query("archregx")))
      m_->shard_member_reads.Add();
  } else if (method == "PUT") {
    op = &m_->put;
  } else if (method == "HEAD") {
    op = &m_->head;
  } else if (method == "DELETE") {
    op = &m_->del;
  }
  if (!op) return;
  if (Failed(status)) return op->errors.Add();
  if (!Ok(status)) return;  // a redirect to the node that has it
  op->count.Add();
  op->ns_total.Add(ns);
  if (op == &m_->put && counting_) {
    op->bytes.Add(counting_->read());
  } else if (op == &m_->get) {
    if (resp.file) {
      op->bytes.Add(resp.file->length);
    } else if (resp.stream) {
      resp.stream = std::make_shared<CountingStream>(std::move(resp.stream), &op->bytes);
    } else {
      op->bytes.Add(resp.body.size());
    }
  }
}

void RecordProxyObjectOp(metrics::ProxyMetrics* m, const Request& req, const Response& resp) {
  if (!m) return;
  metrics::OpCounters* op = req.method == "GET"      ? &m->get
                            : req.method == "PUT"    ? &m->put
                            : req.method == "HEAD"   ? &m->head
                            : req.method == "DELETE" ? &m->del
                                                     : nullptr;
  if (!op) return;
  if (Failed(resp.status)) {
    op->errors.Add();
  } else {
    op->count.Add();
  }
}

}  // namespace aisle::api
