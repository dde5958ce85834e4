#include "etl/process/http_program.h"

#include <cstdlib>

#include "common/body.h"
#include "common/net/http_client.h"
#include "etl/process/log_ring.h"
#include "etl/process/process_util.h"
#include "etl/process/program_supervisor.h"

namespace aisle::etl {
namespace {

constexpr size_t kMaxErrorBody = 1024;

class HttpProgramTransformer : public Transformer {
 public:
  explicit HttpProgramTransformer(const EtlSpec& spec)
      : spec_(spec),
        prefix_(EtlPrefix(spec_)),
        slots_(EffectiveConcurrency(spec_)),
        program_(spec_, &log_) {}
  ~HttpProgramTransformer() override { Stop(); }

  Status Start() override { return program_.Start(); }
  void Stop() override {
    try {
      program_.Stop();
    } catch (...) {  // std::system_error from a mutex or a join: nothing better to do
    }
  }
  Result<std::string> Transform(const TransformInput& in) override;
  bool PullsData() const override { return spec_.comm != Comm::kHpush; }
  std::string ProgramUrl() const override { return program_.Url(); }
  std::string Logs() const override { return log_.Tail(); }
  std::string Health() const override { return program_.Health(); }

 private:
  EtlSpec spec_;
  std::string prefix_;
  Slots slots_;
  LogRing log_;
  mutable ProgramSupervisor program_;
  HttpClient http_;
};

Result<std::string> HttpProgramTransformer::Transform(const TransformInput& in) {
  SlotGuard slot(slots_);
  AISLE_ASSIGN_OR_RETURN(ProgramEndpoint ep, program_.Current());
  HttpRequest req;
  req.url = ep.url + "/" + EscapeComponent(in.bucket) + "/" + EscapePath(in.object);
  if (!in.args.empty()) req.url += "?etl_args=" + EscapeComponent(in.args);
  // AIStore's webservers forward the result to the first URL (next stage or destination
  // target) with the rest of the list, and answer 204 once it is delivered.
  const bool forward = spec_.comm == Comm::kHpush && spec_.direct_put && !in.node_url.empty();
  if (forward) req.headers.emplace_back("Ais-Node-Url", in.node_url);
  StringBodyReader body(in.data);
  if (spec_.comm == Comm::kHpush) {
    req.method = "PUT";
    req.body = &body;
    req.headers.emplace_back("Content-Type", "application/octet-stream");
  } else {
    req.method = "GET";
  }
  req.follow_redirects = false;
  req.max_retries = 1;
  bool by_request_timeout = false;
  const int64_t timeout_ms = EffectiveTimeoutMs(in, spec_.obj_timeout_ms, &by_request_timeout);
  if (by_request_timeout && timeout_ms <= 0)
    return Status::Timeout(prefix_ + "request_timeout exceeded");
  if (timeout_ms > 0) req.total_timeout = std::chrono::milliseconds(timeout_ms);
  std::string out;
  const uint64_t limit = spec_.max_output;
  const std::string too_large =
      prefix_ + "output exceeds the limit of " + std::to_string(limit) + " bytes";
  req.on_body = [&](std::string_view chunk) -> Status {
    if (out.size() + chunk.size() > limit) return Status::TooLarge(too_large);
    out.append(chunk);
    return Status::OK();
  };
  auto resp = http_.Do(req);
  if (!resp.ok()) {
    const Status& s = resp.status();
    if (s.code() == StatusCode::kTooLarge) return s;
    if (s.code() == StatusCode::kTimeout) {
      if (by_request_timeout) return Status::Timeout(prefix_ + "request_timeout exceeded");
      return Status::Timeout(prefix_ + "transform timed out after " +
                             FormatMillis(spec_.obj_timeout_ms));
    }
    std::string dead = program_.DeathReason();
    if (!dead.empty()) return Status::Unavailable(prefix_ + dead);
    return Status::Unavailable(prefix_ + req.method + " " + req.url + ": " + s.message());
  }
  if (resp->status == 204 && forward) {  // delivered by the program (direct put)
    if (in.direct) {
      in.direct->delivered = true;
      in.direct->size =
          std::strtoull(resp->Header("Ais-Direct-Put-Length").value_or("0").c_str(), nullptr, 10);
    }
    return std::string();
  }
  if (resp->status / 100 == 2) return out;
  std::string text =
      resp->body.size() > kMaxErrorBody ? resp->body.substr(0, kMaxErrorBody) : resp->body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string msg = prefix_ + "program returned HTTP " + std::to_string(resp->status);
  if (!text.empty()) msg += ": " + text;
  if (resp->status == 404) return Status::NotFound(msg);
  if (resp->status == 400) return Status::InvalidArgument(msg);
  return Status::Internal(msg);
}

}  // namespace

std::unique_ptr<Transformer> MakeHttpProgramTransformer(const EtlSpec& spec) {
  return std::make_unique<HttpProgramTransformer>(spec);
}

}  // namespace aisle::etl
