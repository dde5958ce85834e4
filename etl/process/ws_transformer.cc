#include "etl/process/ws_transformer.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <vector>

#include "etl/process/deadline_watchdog.h"
#include "etl/process/log_ring.h"
#include "etl/process/process_util.h"
#include "etl/process/program_supervisor.h"
#include "etl/process/ws_client.h"

namespace aisle::etl {
namespace {

using Clock = std::chrono::steady_clock;

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

class WsTransformer : public Transformer {
 public:
  explicit WsTransformer(const EtlSpec& spec)
      : spec_(spec), prefix_(EtlPrefix(spec_)), program_(spec_, &log_) {
    int n = EffectiveConcurrency(spec_);
    for (int i = 0; i < n; ++i) {
      slots_.push_back(std::make_unique<Slot>());
      idle_.push_back(slots_.back().get());
    }
  }
  ~WsTransformer() override { Stop(); }

  Status Start() override { return program_.Start(); }
  void Stop() override {
    try {
      DoStop();
    } catch (...) {  // std::system_error from a mutex or a join: nothing better to do
    }
  }
  void DoStop() {
    // Wait for in-flight transforms (the program's death makes them fail fast), then drop
    // every connection.
    std::unique_lock lock(mu_);
    for (auto& s : slots_) {
      std::lock_guard sl(s->mu);
      if (s->client) s->client->Interrupt();
    }
    lock.unlock();
    program_.Stop();
    lock.lock();
    cv_.wait(lock, [&] { return idle_.size() == slots_.size(); });
    for (auto& s : slots_) {
      std::lock_guard sl(s->mu);
      s->client.reset();
    }
  }
  Result<std::string> Transform(const TransformInput& in) override;
  std::string ProgramUrl() const override { return program_.Url(); }
  std::string Logs() const override { return log_.Tail(); }
  std::string Health() const override { return program_.Health(); }

 private:
  struct Slot {
    std::mutex mu;  // guards client (the holder swaps it; the watchdog interrupts it)
    std::unique_ptr<WsClient> client;
    uint64_t generation = 0;
    bool timed_out = false;
  };

  // One exchange on the slot's connection (connecting first when needed).
  Result<std::string> Exchange(Slot* s, const ProgramEndpoint& ep, const TransformInput& in,
                               bool* reused);

  EtlSpec spec_;
  std::string prefix_;
  LogRing log_;
  mutable ProgramSupervisor program_;
  DeadlineWatchdog watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> idle_;
};

Result<std::string> WsTransformer::Exchange(Slot* s, const ProgramEndpoint& ep,
                                            const TransformInput& in, bool* reused) {
  WsClient* c;
  {
    std::lock_guard lock(s->mu);
    if (s->client && (s->generation != ep.generation || !s->client->healthy())) {
      s->client.reset();
    }
    *reused = s->client != nullptr;
    if (!s->client) {
      if (s->timed_out) return Status::Timeout("connect");
      s->client = std::make_unique<WsClient>();
      s->generation = ep.generation;
    }
    c = s->client.get();
  }
  if (!*reused) AISLE_RETURN_IF_ERROR(c->Connect("127.0.0.1", ep.port, "/ws", spec_.max_output));
  // AIStore's framing (ext/etl websocket_comm, the SDK's webservers): a binary JSON control
  // frame, then a binary frame with the bytes. Empty fields are left out, as Go's omitempty.
  std::string meta = "{\"path\":" + JsonString(in.bucket + "/" + in.object);
  if (!in.args.empty()) meta += ",\"etl_args\":" + JsonString(in.args);
  meta += "}";
  AISLE_RETURN_IF_ERROR(c->WriteBinary(meta));
  AISLE_RETURN_IF_ERROR(c->WriteBinary(in.data));
  *reused = false;  // sent: a failure from here on is not a stale connection
  AISLE_ASSIGN_OR_RETURN(WsClient::Message m, c->Read());
  if (!m.binary) {
    return Status::Internal(prefix_ + "program error: " + m.data).WithSubject(Subject::kEtl);
  }
  return std::move(m.data);
}

Result<std::string> WsTransformer::Transform(const TransformInput& in) {
  Slot* s;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty(); });
    s = idle_.back();
    idle_.pop_back();
  }
  struct Return {
    WsTransformer* self;
    Slot* s;
    ~Return() {
      {
        std::lock_guard lock(self->mu_);
        self->idle_.push_back(s);
      }
      self->cv_.notify_all();
    }
  } ret{this, s};

  AISLE_ASSIGN_OR_RETURN(ProgramEndpoint ep, program_.Current());
  {
    std::lock_guard lock(s->mu);
    s->timed_out = false;
  }
  uint64_t timer = 0;
  bool by_request_timeout = false;
  const int64_t timeout_ms = EffectiveTimeoutMs(in, spec_.obj_timeout_ms, &by_request_timeout);
  if (by_request_timeout || timeout_ms > 0) {
    timer = watchdog_.Arm(Clock::now() + std::chrono::milliseconds(timeout_ms), [s] {
      std::lock_guard lock(s->mu);
      s->timed_out = true;
      if (s->client) s->client->Interrupt();
    });
  }
  bool reused = false;
  auto r = Exchange(s, ep, in, &reused);
  if (!r.ok() && reused && r.status().code() == StatusCode::kUnavailable) {
    // The program closed an idle connection: reconnect once.
    r = Exchange(s, ep, in, &reused);
  }
  bool fired = timer != 0 && watchdog_.Disarm(timer);
  if (r.ok()) return r;
  {
    std::lock_guard lock(s->mu);
    if (s->client && !s->client->healthy()) s->client.reset();
    if (fired || s->timed_out) {
      s->client.reset();
      fired = true;
    }
  }
  if (fired) {
    if (by_request_timeout) return Status::Timeout(prefix_ + "request_timeout exceeded");
    return Status::Timeout(prefix_ + "transform timed out after " +
                           FormatMillis(spec_.obj_timeout_ms));
  }
  const Status& st = r.status();
  if (st.subject() == Subject::kEtl) return st;  // worded by the program's side already
  if (st.code() == StatusCode::kTooLarge) {
    return Status::TooLarge(prefix_ + "output exceeds the limit of " +
                            std::to_string(spec_.max_output) + " bytes");
  }
  std::string dead = program_.DeathReason();
  if (!dead.empty()) return Status::Unavailable(prefix_ + dead);
  return Status(st.code(), prefix_ + st.message());
}

}  // namespace

std::unique_ptr<Transformer> MakeWsTransformer(const EtlSpec& spec) {
  return std::make_unique<WsTransformer>(spec);
}

}  // namespace aisle::etl
