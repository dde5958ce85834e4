#include "etl/process/python_runtime_pool.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "etl/process/child_process.h"
#include "etl/process/log_ring.h"
#include "etl/process/pipe_io.h"
#include "etl/process/process_util.h"
#include "etl/process/python_runtime_script.h"

namespace aisle::etl {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kRuntimeFile[] = "aisle_etl_runtime.py";
constexpr char kCodeFile[] = "transform_code.py";
constexpr char kClassFile[] = "etl_class_payload.b64";  // init_class: base64 of the pickle
constexpr char kRequirementsFile[] = "requirements.txt";
constexpr auto kRestartBackoff = std::chrono::seconds(1);

void PutBE(std::string& s, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// OS_PACKAGES of an init_class ETL: Debian packages that must already be installed (there is
// no apt inside a target); checked here, outside the sandbox, where dpkg's database is.
Status CheckOsPackages(const std::vector<std::string>& pkgs, const std::string& prefix) {
  std::string missing;
  for (const auto& p : pkgs) {
    bool ok = false;
    for (const char* suffix : {".list", ":amd64.list", ":arm64.list", ":all.list"})
      ok = ok || ::access(("/var/lib/dpkg/info/" + p + suffix).c_str(), F_OK) == 0;
    if (ok) continue;
    if (!missing.empty()) missing += "; ";
    missing += "OS package '" + p + "' is not installed (install Debian package " + p + ")";
  }
  if (missing.empty()) return Status::OK();
  return Status::InvalidArgument(prefix + missing);
}

class PythonRuntimePool : public Transformer {
 public:
  explicit PythonRuntimePool(EtlSpec spec) : spec_(std::move(spec)), prefix_(EtlPrefix(spec_)) {}
  ~PythonRuntimePool() override { Stop(); }

  Status Start() override { return DoStart(); }
  void Stop() override {
    try {
      DoStop();
    } catch (...) {  // std::system_error from a mutex or a join: nothing better to do
    }
  }
  Result<std::string> Transform(const TransformInput& in) override;
  std::string Logs() const override { return log_.Tail(); }
  std::string Health() const override;

 private:
  struct Worker {
    int id = 0;
    std::unique_ptr<ChildProcess> proc;  // swapped only by the holder, under mu_
    bool ready = false;                  // the ready frame arrived
    bool busy = false;
    std::string health;       // "" or why the worker is not serving (under mu_)
    std::string exit_reason;  // how its process died, when ReadFrame found it dead
    Clock::time_point last_spawn{};
  };
  // A frame read from a worker: status byte and payload.
  struct Frame {
    uint8_t status = 0;
    std::string payload;
  };

  Status DoStart();
  // The file the runtime loads: the code, or an init_class ETL's pickled class.
  const char* CodeFile() const { return spec_.code.empty() ? kClassFile : kCodeFile; }
  void DoStop();
  Result<std::unique_ptr<ChildProcess>> SpawnRuntime();
  // Reads one frame; errors are already worded ("etl NAME: python worker exited ..."). A dead
  // worker is kUnavailable, with how it died in w->exit_reason.
  Result<Frame> ReadFrame(Worker* w, Clock::time_point deadline, const char* waiting_for);
  Status WaitReady(Worker* w, Clock::time_point deadline);
  // Describes a dead worker: "python worker exited with code 3: <stderr tail>".
  std::string DeathReason(ChildProcess* proc) { return "python worker " + ExitReason(proc); }
  // The same without the "python worker " lead: "exited with code 3: <stderr tail>".
  std::string ExitReason(ChildProcess* proc);
  // Kills the worker's process and spawns a replacement (not yet ready).
  void Replace(Worker* w, const std::string& why);
  Worker* Checkout();
  void Checkin(Worker* w);

  EtlSpec spec_;
  std::string prefix_;
  LogRing log_;
  std::string script_path_, code_path_, req_path_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  int busy_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::deque<Worker*> idle_;
};

Status PythonRuntimePool::DoStart() {
  {
    std::lock_guard lock(mu_);
    if (running_) return Status::OK();
  }
  if (spec_.code.empty() && spec_.class_payload.empty())
    return Status::InvalidArgument(prefix_ + "no Python code");
  if (spec_.work_dir.empty()) return Status::InvalidArgument(prefix_ + "no work dir");
  AISLE_RETURN_IF_ERROR(CheckOsPackages(spec_.os_packages, prefix_));
  script_path_ = spec_.work_dir + "/" + kRuntimeFile;
  code_path_ = spec_.work_dir + "/" + CodeFile();
  req_path_ = spec_.work_dir + "/" + kRequirementsFile;
  for (auto [path, data] :
       {std::pair{&script_path_, PythonRuntimeScript()},
        std::pair{&code_path_,
                  std::string_view(spec_.code.empty() ? spec_.class_payload : spec_.code)},
        std::pair{&req_path_, std::string_view(spec_.dependencies)}}) {
    Status s = WriteFileAtomic(*path, data);
    if (!s.ok()) return s.WithContext(prefix_ + "write runtime files");
  }

  int n = EffectiveConcurrency(spec_);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i;
    auto proc = SpawnRuntime();
    if (!proc.ok()) return proc.status();
    w->proc = std::move(proc).value();
    w->last_spawn = Clock::now();
    workers.push_back(std::move(w));
  }
  auto deadline = Clock::now() + milliseconds(std::max<int64_t>(spec_.init_timeout_ms, 1));
  for (auto& w : workers) {
    Status s = WaitReady(w.get(), deadline);
    if (!s.ok()) {
      for (auto& o : workers) o->proc->Kill(milliseconds(0));
      return s;
    }
  }
  std::lock_guard lock(mu_);
  workers_ = std::move(workers);
  idle_.clear();
  for (auto& w : workers_) idle_.push_back(w.get());
  busy_ = 0;
  running_ = true;
  return Status::OK();
}

void PythonRuntimePool::DoStop() {
  std::vector<std::unique_ptr<Worker>> workers;
  {
    std::unique_lock lock(mu_);
    if (!running_ && workers_.empty()) return;
    running_ = false;
    // Busy workers: kill so their holders return at once (they will not restart them).
    for (auto& w : workers_) {
      if (w->busy && w->proc) w->proc->Signal(SIGKILL);
    }
    cv_.notify_all();
    cv_.wait(lock, [&] { return busy_ == 0; });
    workers = std::move(workers_);
    workers_.clear();
    idle_.clear();
  }
  // EOF on stdin ends the runtime; SIGTERM, then SIGKILL after the grace period.
  for (auto& w : workers) {
    if (w->proc) w->proc->CloseStdin();
  }
  auto grace = Clock::now() + milliseconds(2000);
  for (auto& w : workers) {
    if (w->proc && !w->proc->WaitExit(std::min(grace, Clock::now() + milliseconds(300)))) {
      w->proc->Signal(SIGTERM);
    }
  }
  for (auto& w : workers) {
    if (w->proc) {
      w->proc->WaitExit(grace);
      w->proc->Kill(milliseconds(0));
    }
  }
  workers.clear();  // joins the stderr readers
}

std::string PythonRuntimePool::Health() const {
  std::lock_guard lock(mu_);
  if (!running_) return "not running";
  std::string out;
  for (const auto& w : workers_) {
    std::string h = w->health;
    if (h.empty() && !w->busy && w->proc && w->proc->Exited()) {
      h = "worker " + std::to_string(w->id) + " exited (" + w->proc->ExitDescription() + ")";
    }
    if (h.empty()) continue;
    if (!out.empty()) out += "; ";
    out += h;
  }
  return out;
}

Result<std::unique_ptr<ChildProcess>> PythonRuntimePool::SpawnRuntime() {
  SpawnOptions o;
  // Paths relative to the work dir (the cwd): a sandboxed runtime cannot traverse the node's
  // directories above it, and its error messages name no server paths. Python would make a
  // script argument (and runpy a path) absolute, so -c compiles the file itself.
  o.argv = {PythonBinary(),
            "-B",
            "-s",
            "-c",
            std::string("f = open('") + kRuntimeFile +
                "'); src = f.read(); f.close(); exec(compile(src, '" + kRuntimeFile + "', 'exec'))",
            spec_.code.empty() ? "--class-payload" : "--code",
            CodeFile(),
            "--func",
            spec_.transform_func.empty() ? "transform" : spec_.transform_func,
            "--requirements",
            kRequirementsFile};
  o.env = spec_.env;
  o.env.emplace_back("ETL_NAME", spec_.name);
  if (!spec_.target_url.empty()) o.env.emplace_back("AIS_TARGET_URL", spec_.target_url);
  o.env.emplace_back("PYTHONUNBUFFERED", "1");
  o.work_dir = spec_.work_dir;
  o.memory_limit = spec_.memory_limit;
  o.pipe_stdin = true;
  o.pipe_stdout = true;
  o.log = &log_;
  o.sandbox = spec_.sandbox;
  auto r = ChildProcess::Spawn(o);
  if (!r.ok()) return r.status().WithContext(prefix_ + "start python runtime");
  return r;
}

std::string PythonRuntimePool::ExitReason(ChildProcess* proc) {
  proc->WaitExit(Clock::now() + milliseconds(1000));
  if (!proc->Exited()) proc->Kill(milliseconds(0));
  std::string msg = proc->ExitDescription();
  std::string tail = proc->StderrTail(milliseconds(200));
  if (!tail.empty()) msg += ": " + tail;
  return msg;
}

Result<PythonRuntimePool::Frame> PythonRuntimePool::ReadFrame(Worker* w, Clock::time_point deadline,
                                                              const char* waiting_for) {
  unsigned char head[9];
  PipeIo r =
      ReadExactFd(w->proc->stdout_fd(), reinterpret_cast<char*>(head), sizeof(head), deadline);
  Frame f;
  if (r == PipeIo::kOk) {
    f.status = head[0];
    uint64_t len = GetBE(head + 1, 8);
    if (len > spec_.max_output) {
      return Status::TooLarge(prefix_ + "output exceeds the limit of " +
                              std::to_string(spec_.max_output) + " bytes");
    }
    f.payload.resize(len);
    r = ReadExactFd(w->proc->stdout_fd(), f.payload.data(), len, deadline);
    if (r == PipeIo::kOk) return f;
  }
  if (r == PipeIo::kTimeout) return Status::Timeout(std::string(waiting_for));
  w->exit_reason = ExitReason(w->proc.get());
  return Status::Unavailable(prefix_ + "python worker " + w->exit_reason);
}

Status PythonRuntimePool::WaitReady(Worker* w, Clock::time_point deadline) {
  auto f = ReadFrame(w, deadline, "ready");
  if (!f.ok()) {
    if (f.status().code() == StatusCode::kTimeout) {
      w->proc->Kill(milliseconds(0));
      return Status::Timeout(prefix_ + "python runtime not ready after " +
                             FormatMillis(spec_.init_timeout_ms));
    }
    w->proc->Kill(milliseconds(0));
    return f.status();
  }
  if (f->status != 0) {
    w->proc->Kill(milliseconds(0));
    return Status::InvalidArgument(prefix_ + f->payload);
  }
  w->ready = true;
  return Status::OK();
}

PythonRuntimePool::Worker* PythonRuntimePool::Checkout() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !running_ || !idle_.empty(); });
  if (!running_) return nullptr;
  Worker* w = idle_.front();
  idle_.pop_front();
  w->busy = true;
  ++busy_;
  return w;
}

void PythonRuntimePool::Checkin(Worker* w) {
  {
    std::lock_guard lock(mu_);
    w->busy = false;
    --busy_;
    if (running_) idle_.push_back(w);
  }
  cv_.notify_all();
}

void PythonRuntimePool::Replace(Worker* w, const std::string& why) {
  std::unique_ptr<ChildProcess> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(w->proc);
    w->ready = false;
    w->health = "worker " + std::to_string(w->id) + " restarting after " + why;
  }
  log_.AppendLine("[aisle] worker " + std::to_string(w->id) + " restarting after " + why);
  if (old) old->Kill(milliseconds(0));
  old.reset();
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
  }
  w->last_spawn = Clock::now();
  auto proc = SpawnRuntime();
  std::lock_guard lock(mu_);
  if (proc.ok()) {
    w->proc = std::move(proc).value();
  } else {
    w->health = "worker " + std::to_string(w->id) + ": " + proc.status().message();
  }
}

Result<std::string> PythonRuntimePool::Transform(const TransformInput& in) {
  Worker* w = Checkout();
  if (!w) return Status::Unavailable(prefix_ + "not running");
  struct Return {
    PythonRuntimePool* self;
    Worker* w;
    ~Return() { self->Checkin(w); }
  } ret{this, w};

  // A worker that died while idle (OOM killer, ...) or whose restart failed.
  if (w->proc && w->proc->Exited()) Replace(w, DeathReason(w->proc.get()));
  if (!w->proc) {
    if (Clock::now() - w->last_spawn < kRestartBackoff) {
      std::lock_guard lock(mu_);
      return Status::Unavailable(prefix_ + w->health);
    }
    Replace(w, "a failed start");
    if (!w->proc) {
      std::lock_guard lock(mu_);
      return Status::Unavailable(prefix_ + w->health);
    }
  }
  if (!w->ready) {
    auto deadline = Clock::now() + milliseconds(std::max<int64_t>(spec_.init_timeout_ms, 1));
    Status s = WaitReady(w, deadline);
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      w->health = "worker " + std::to_string(w->id) + ": " + s.message();
      return s;
    }
    std::lock_guard lock(mu_);
    w->health.clear();
  }

  bool by_request_timeout = false;
  const int64_t timeout_ms = EffectiveTimeoutMs(in, spec_.obj_timeout_ms, &by_request_timeout);
  const bool has_deadline = by_request_timeout || timeout_ms > 0;
  auto deadline = has_deadline ? Clock::now() + milliseconds(timeout_ms) : Clock::time_point::max();
  auto timed_out = [&] {
    Replace(w, "a timeout");
    if (by_request_timeout) return Status::Timeout(prefix_ + "request_timeout exceeded");
    return Status::Timeout(prefix_ + "transform timed out after " +
                           FormatMillis(spec_.obj_timeout_ms));
  };
  auto died = [&] {
    std::string why = ExitReason(w->proc.get());
    Replace(w, why);
    return Status::Internal(prefix_ + "python worker " + why);
  };

  // The object's path ("BUCKET/OBJECT", the SDK's ETLServer.transform argument), then args.
  const std::string path = in.bucket + "/" + in.object;
  std::string head;
  head.reserve(16 + path.size() + in.args.size());
  PutBE(head, path.size(), 4);
  head += path;
  PutBE(head, in.args.size(), 4);
  head += in.args;
  PutBE(head, in.data.size(), 8);
  int fd = w->proc->stdin_fd();
  PipeIo r = WriteAllFd(fd, head, deadline);
  if (r == PipeIo::kOk) r = WriteAllFd(fd, in.data, deadline);
  if (r == PipeIo::kTimeout) return timed_out();
  if (r != PipeIo::kOk) return died();

  auto f = ReadFrame(w, deadline, "response");
  if (!f.ok()) {
    if (f.status().code() == StatusCode::kTimeout) return timed_out();
    if (f.status().code() == StatusCode::kTooLarge) {
      Replace(w, "an oversized result");
      return f.status();
    }
    Replace(w, w->exit_reason);  // kUnavailable: the worker died (see ReadFrame)
    return Status::Internal(f.status().message());
  }
  if (f->status != 0) return Status::Internal(prefix_ + "transform failed: " + f->payload);
  return std::move(f->payload);
}

}  // namespace

std::unique_ptr<Transformer> MakePythonRuntimePool(const EtlSpec& spec) {
  return std::make_unique<PythonRuntimePool>(spec);
}

}  // namespace aisle::etl
