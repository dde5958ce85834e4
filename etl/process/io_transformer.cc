#include "etl/process/io_transformer.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>

#include "etl/process/child_process.h"
#include "etl/process/log_ring.h"
#include "etl/process/process_util.h"

namespace aisle::etl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kIoCodeFile[] = "transform_code.py";

class IoTransformer : public Transformer {
 public:
  explicit IoTransformer(EtlSpec spec)
      : spec_(std::move(spec)), prefix_(EtlPrefix(spec_)), slots_(EffectiveConcurrency(spec_)) {}
  ~IoTransformer() override { Stop(); }

  Status Start() override {
    if (!spec_.code.empty()) AISLE_RETURN_IF_ERROR(WriteCode());
    if (spec_.command.empty()) return Status::InvalidArgument(prefix_ + "io:// needs a command");
    std::lock_guard lock(mu_);
    stopped_ = false;
    return Status::OK();
  }

  void Stop() override {
    try {
      std::unique_lock lock(mu_);
      stopped_ = true;
      for (ChildProcess* c : active_) c->Signal(SIGKILL);
      idle_cv_.wait(lock, [&] { return running_ == 0; });
    } catch (...) {  // std::system_error from the mutex: nothing better to do
    }
  }

  Result<std::string> Transform(const TransformInput& in) override;

  std::string Logs() const override { return log_.Tail(); }

 private:
  // The program's command, environment (the object it transforms) and limits.
  SpawnOptions SpawnOptionsFor(const TransformInput& in);
  // Feeds `data` to the child's stdin while collecting its stdout, until stdout closes; kills
  // the child on a poll error, past `deadline` (when `has_deadline`) or past max_output.
  Result<std::string> Exchange(ChildProcess& child, std::string_view data, bool has_deadline,
                               Clock::time_point deadline);
  Status TimedOut(ChildProcess& child, bool by_request_timeout);
  Status WriteCode();

  EtlSpec spec_;
  std::string prefix_;
  Slots slots_;
  LogRing log_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  bool stopped_ = false;
  std::set<ChildProcess*> active_;
  int running_ = 0;  // transforms with a child, until it is reaped
};

SpawnOptions IoTransformer::SpawnOptionsFor(const TransformInput& in) {
  SpawnOptions opts;
  opts.argv = spec_.command;
  opts.env = spec_.env;
  opts.env.emplace_back("ETL_NAME", spec_.name);
  opts.env.emplace_back("ETL_ARGS", in.args);
  opts.env.emplace_back("AIS_BUCKET", in.bucket);
  opts.env.emplace_back("AIS_OBJECT", in.object);
  if (!spec_.target_url.empty()) opts.env.emplace_back("AIS_TARGET_URL", spec_.target_url);
  opts.work_dir = spec_.work_dir;
  opts.memory_limit = spec_.memory_limit;
  opts.pipe_stdin = true;
  opts.pipe_stdout = true;
  opts.log = &log_;
  opts.sandbox = spec_.sandbox;
  return opts;
}

// init-code with io:// (AIStore's legacy runtime): the code is the program, run per object
// by python3 from the work dir. The path stays relative (the sandboxed process cannot reach
// the work dir's absolute path), so -c compiles the file rather than python3 FILE.
Status IoTransformer::WriteCode() {
  if (spec_.work_dir.empty()) return Status::InvalidArgument(prefix_ + "no work dir");
  Status s = WriteFileAtomic(spec_.work_dir + "/" + kIoCodeFile, spec_.code);
  if (!s.ok()) return s.WithContext(prefix_ + "write the code");
  spec_.command = {PythonBinary(), "-B", "-s", "-c",
                   std::string("import sys; sys.argv = ['") + kIoCodeFile + "']; f = open('" +
                       kIoCodeFile + "'); src = f.read(); f.close(); exec(compile(src, '" +
                       kIoCodeFile + "', 'exec'), {'__name__': '__main__'})"};
  return Status::OK();
}

Status IoTransformer::TimedOut(ChildProcess& child, bool by_request_timeout) {
  child.Kill(std::chrono::milliseconds(0));
  return Status::Timeout(prefix_ + (by_request_timeout ? std::string("request_timeout exceeded")
                                                       : "transform timed out after " +
                                                             FormatMillis(spec_.obj_timeout_ms)));
}

Result<std::string> IoTransformer::Exchange(ChildProcess& child, std::string_view data,
                                            bool has_deadline, Clock::time_point deadline) {
  std::string out;
  size_t written = 0;
  if (data.empty()) child.CloseStdin();
  char buf[64 * 1024];
  while (child.stdout_fd() >= 0) {
    struct pollfd pfd[2];
    int n = 0;
    int out_idx = n;
    pfd[n++] = {child.stdout_fd(), POLLIN, 0};
    int in_idx = -1;
    if (child.stdin_fd() >= 0) {
      in_idx = n;
      pfd[n++] = {child.stdin_fd(), POLLOUT, 0};
    }
    int timeout_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return TimedOut(child, false);
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
    }
    int r = ::poll(pfd, n, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      child.Kill(std::chrono::milliseconds(0));
      return Status::FromErrno(errno, prefix_ + "poll");
    }
    if (r == 0) continue;  // deadline is checked at the top
    if (in_idx >= 0 && pfd[in_idx].revents) {
      size_t chunk = std::min<size_t>(data.size() - written, 1 << 20);
      ssize_t w = WriteNoSigpipe(child.stdin_fd(), data.data() + written, chunk);
      if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == data.size()) child.CloseStdin();
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        child.CloseStdin();  // EPIPE: the program stopped reading; its exit status decides
      }
    }
    if (pfd[out_idx].revents) {
      ssize_t rd = ::read(child.stdout_fd(), buf, sizeof(buf));
      if (rd > 0) {
        if (out.size() + static_cast<size_t>(rd) > spec_.max_output) {
          child.Kill(std::chrono::milliseconds(0));
          return Status::TooLarge(prefix_ + "output exceeds the limit of " +
                                  std::to_string(spec_.max_output) + " bytes");
        }
        out.append(buf, static_cast<size_t>(rd));
      } else if (rd == 0) {
        child.CloseStdout();
      } else if (errno != EAGAIN && errno != EINTR) {
        child.CloseStdout();
      }
    }
  }
  return out;
}

Result<std::string> IoTransformer::Transform(const TransformInput& in) {
  SlotGuard slot(slots_);
  SpawnOptions opts = SpawnOptionsFor(in);
  std::unique_ptr<ChildProcess> child;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return Status::Unavailable(prefix_ + "stopped");
    auto spawned = ChildProcess::Spawn(opts);
    if (!spawned.ok()) return spawned.status().WithContext(prefix_ + "start program");
    child = std::move(spawned).value();
    active_.insert(child.get());
    ++running_;
  }
  // Kills/reaps the child and joins its stderr reader before Stop() may return.
  struct Untrack {
    IoTransformer* self;
    std::unique_ptr<ChildProcess>& child;
    ~Untrack() {
      {
        std::lock_guard lock(self->mu_);
        self->active_.erase(child.get());
      }
      child.reset();
      std::lock_guard lock(self->mu_);
      --self->running_;
      self->idle_cv_.notify_all();
    }
  };
  Untrack untrack{this, child};

  bool by_request_timeout = false;
  const int64_t timeout_ms = EffectiveTimeoutMs(in, spec_.obj_timeout_ms, &by_request_timeout);
  const bool has_deadline = by_request_timeout || timeout_ms > 0;
  const auto deadline = has_deadline ? Clock::now() + std::chrono::milliseconds(timeout_ms)
                                     : Clock::time_point::max();
  auto exchanged = Exchange(*child, in.data, has_deadline, deadline);
  if (!exchanged.ok() && exchanged.status().code() == StatusCode::kTimeout && by_request_timeout)
    return Status::Timeout(prefix_ + "request_timeout exceeded");
  AISLE_ASSIGN_OR_RETURN(std::string out, std::move(exchanged));
  child->CloseStdin();
  if (!child->WaitExit(deadline)) return TimedOut(*child, by_request_timeout);
  child->Reap();
  auto code = child->ExitCode();
  if (code && *code == 0) return out;
  std::string msg = prefix_ + "program " + child->ExitDescription();
  std::string tail = child->StderrTail(std::chrono::milliseconds(200));
  if (!tail.empty()) msg += ": " + tail;
  return Status::Internal(msg);
}

}  // namespace

std::unique_ptr<Transformer> MakeIoTransformer(const EtlSpec& spec) {
  return std::make_unique<IoTransformer>(spec);
}

}  // namespace aisle::etl
