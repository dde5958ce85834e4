#include "etl/process/program_supervisor.h"

#include <csignal>

#include "etl/process/free_port.h"
#include "etl/process/process_util.h"

namespace aisle::etl {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinBackoff{1000};
constexpr milliseconds kMaxBackoff{30'000};
constexpr milliseconds kMonitorPeriod{100};

}  // namespace

ProgramSupervisor::ProgramSupervisor(const EtlSpec& spec, LogRing* log)
    : spec_(spec), prefix_(EtlPrefix(spec)), log_(log) {}

ProgramSupervisor::~ProgramSupervisor() { Stop(); }

bool ProgramSupervisor::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

Status ProgramSupervisor::Start() {
  if (spec_.command.empty()) {
    return Status::InvalidArgument(prefix_ + CommName(spec_.comm) + " needs a command");
  }
  {
    std::lock_guard lock(mu_);
    if (monitor_.joinable()) return Status::OK();
    stop_ = false;
  }
  Status s = Launch();
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  monitor_ = std::thread([this] { MonitorLoop(); });
  return Status::OK();
}

void ProgramSupervisor::Stop() {
  std::shared_ptr<ChildProcess> child;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    serving_ = false;
    health_ = "stopped";
    child = std::move(child_);
  }
  cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (child) child->Kill(milliseconds(2000));
}

Status ProgramSupervisor::Launch() { return LaunchProgram().WithContext(EtlName(spec_)); }

Status ProgramSupervisor::LaunchProgram() {
  {
    std::lock_guard lock(mu_);
    last_launch_ = Clock::now();
  }
  auto port = PickFreePort();
  if (!port.ok()) return port.status().WithContext("start program");
  SpawnOptions o;
  o.argv = spec_.command;
  o.env = spec_.env;
  o.env.emplace_back("PORT", std::to_string(*port));
  o.env.emplace_back("AIS_TARGET_URL", spec_.target_url);
  o.env.emplace_back("ETL_NAME", spec_.name);
  o.work_dir = spec_.work_dir;
  o.memory_limit = spec_.memory_limit;
  o.log = log_;
  o.sandbox = spec_.sandbox;
  auto spawned = ChildProcess::Spawn(o);
  if (!spawned.ok()) return spawned.status().WithContext("start program");
  std::shared_ptr<ChildProcess> child = std::move(spawned).value();
  std::string url = "http://127.0.0.1:" + std::to_string(*port);

  const auto deadline = Clock::now() + milliseconds(std::max<int64_t>(spec_.init_timeout_ms, 1));
  milliseconds pause{20};
  for (;;) {
    if (stopping()) {
      child->Kill(milliseconds(0));
      return Status::Unavailable("stopped");
    }
    if (child->Exited()) {
      child->Reap();
      std::string msg = "program " + child->ExitDescription() + " before it was ready";
      std::string tail = child->StderrTail(milliseconds(200));
      if (!tail.empty()) msg += ": " + tail;
      return Status::Unavailable(msg);
    }
    HttpRequest req;
    req.url = url + "/health";
    req.connect_timeout = milliseconds(500);
    req.total_timeout = milliseconds(1000);
    req.max_retries = 0;
    auto resp = http_.Do(req);
    if (resp.ok() && resp->status == 200) break;
    if (Clock::now() >= deadline) {
      child->Kill(milliseconds(0));
      std::string msg =
          "program not healthy after " + FormatMillis(spec_.init_timeout_ms) + " (GET " + req.url +
          ": " + (resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.status().message()) +
          ")";
      std::string tail = child->StderrTail(milliseconds(0), 5);
      if (!tail.empty()) msg += ": " + tail;
      return Status::Timeout(msg);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, milliseconds(200));
  }
  std::lock_guard lock(mu_);
  if (stop_) {
    child->Kill(milliseconds(0));
    return Status::Unavailable("stopped");
  }
  child_ = std::move(child);
  ep_.url = url;
  ep_.port = *port;
  ++ep_.generation;
  serving_ = true;
  health_.clear();
  return Status::OK();
}

std::string ProgramSupervisor::NoteDeathLocked() {
  if (!serving_) return health_;
  if (!child_ || !child_->Exited()) return "";
  std::string reason = "program " + child_->ExitDescription();
  std::string tail = child_->StderrTail(milliseconds(100), 5);
  if (!tail.empty()) reason += ": " + tail;
  serving_ = false;
  health_ = reason + " (restarting)";
  if (log_) log_->AppendLine("[aisle] " + reason + "; restarting");
  cv_.notify_all();
  return health_;
}

void ProgramSupervisor::MonitorLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kMonitorPeriod);
    if (stop_) break;
    NoteDeathLocked();
    if (serving_) continue;
    auto next = last_launch_ + backoff_;
    if (Clock::now() < next) continue;
    std::shared_ptr<ChildProcess> dead = std::move(child_);
    std::string reason = health_;
    lock.unlock();
    if (dead) dead->Kill(milliseconds(0));
    dead.reset();
    Status s = LaunchProgram();  // unnamed: health_ gets the ETL's name from Current()
    lock.lock();
    if (s.ok()) {
      backoff_ = kMinBackoff;
      if (log_) log_->AppendLine("[aisle] program restarted");
    } else if (!stop_) {
      health_ = s.message() + " (restarting)";
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
      if (log_) log_->AppendLine("[aisle] restart failed: " + prefix_ + s.message());
    }
  }
}

Result<ProgramEndpoint> ProgramSupervisor::Current() {
  std::lock_guard lock(mu_);
  if (stop_) return Status::Unavailable(prefix_ + "not running");
  std::string dead = NoteDeathLocked();
  if (!serving_) return Status::Unavailable(prefix_ + (dead.empty() ? health_ : dead));
  return ep_;
}

std::string ProgramSupervisor::DeathReason() {
  std::shared_ptr<ChildProcess> child;
  {
    std::lock_guard lock(mu_);
    child = child_;
  }
  // A request failing because the program crashed may beat its exit by a moment.
  if (child) child->WaitExit(Clock::now() + milliseconds(300));
  std::lock_guard lock(mu_);
  return NoteDeathLocked();
}

std::string ProgramSupervisor::Health() {
  std::lock_guard lock(mu_);
  if (stop_) return "not running";
  std::string dead = NoteDeathLocked();
  return serving_ ? "" : health_;
}

std::string ProgramSupervisor::Url() const {
  std::lock_guard lock(mu_);
  return serving_ ? ep_.url : "";
}

}  // namespace aisle::etl
