#include "etl/etl_manager.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "common/logging.h"
#include "etl/etl_msg.h"
#include "etl/process_scan.h"

namespace aisle::etl {
namespace {

constexpr size_t kMaxObjErrors = 100;

}  // namespace

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kInitializing: return "Initializing";
    case Stage::kRunning: return "Running";
    case Stage::kStopped: return "Stopped";
    case Stage::kError: return "Aborted";
  }
  return "?";
}

Result<std::unique_ptr<Transformer>> MakeTransformer(const EtlSpec& spec) {
  if (spec.comm == Comm::kBuiltin) return MakeBuiltinTransformer(spec);
  return MakeProcessTransformer(spec);
}

Result<std::string> EtlInstance::Run(const TransformInput& in) {
  auto out = transformer_->Transform(in);
  obj_count_.fetch_add(1, std::memory_order_relaxed);
  in_bytes_.fetch_add(in.data.size(), std::memory_order_relaxed);
  if (out.ok()) {
    out_bytes_.fetch_add(out->size(), std::memory_order_relaxed);
    return out;
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> l(mu_);
  obj_errors_.push_back({in.bucket + "/" + in.object, out.status().message(), out.status().code()});
  if (obj_errors_.size() > kMaxObjErrors) obj_errors_.pop_front();
  return out;
}

namespace {

// ETL programs run with their work dir as cwd. After a crash of the target (kill -9) they
// outlive it; the next start finds them by that cwd and kills them, so no stale program
// keeps a port or a worker busy.
void KillLeftoverPrograms(const std::string& work_root) {
  for (pid_t pid : ProcessesUnder(work_root)) {
    spdlog::warn("etl: killing leftover program pid {} (under {})", pid, work_root);
    ::kill(pid, SIGKILL);
  }
}

}  // namespace

EtlManager::EtlManager(Options opts) : opts_(std::move(opts)) {
  if (!opts_.factory) opts_.factory = MakeTransformer;
  if (!opts_.work_root.empty()) {
    KillLeftoverPrograms(opts_.work_root);
    // Work dirs of a previous run hold nothing worth keeping.
    std::error_code ec;
    std::filesystem::remove_all(opts_.work_root, ec);
  }
}

EtlManager::~EtlManager() { Apply({}); }

std::shared_ptr<EtlInstance> EtlManager::Launch(const EtlEntry& e) {
  auto inst = std::make_shared<EtlInstance>();
  inst->msg_ = e.msg;
  auto spec = ParseInitMsg(e.msg);
  if (!spec.ok()) {
    inst->stage_ = Stage::kError;
    inst->error_ = spec.status().message();
    return inst;
  }
  inst->spec_ = std::move(spec).value();
  if (opts_.sandbox) {
    if (Status st = opts_.sandbox->Admit(inst->spec_); !st.ok()) {
      inst->stage_ = Stage::kError;
      inst->error_ = st.message();
      return inst;
    }
    inst->spec_.sandbox = opts_.sandbox.get();
  }
  inst->spec_.target_url = opts_.target_url;
  inst->spec_.work_dir = opts_.work_root + "/" + e.name + "-" + std::to_string(++generation_);
  inst->starter_ = std::thread([this, inst] {
    Status st;
    std::error_code ec;
    std::filesystem::create_directories(inst->spec_.work_dir, ec);
    if (ec) {
      spdlog::warn("etl {}: create {}: {}", inst->spec_.name, inst->spec_.work_dir, ec.message());
      st = Status::IOError("etl " + inst->spec_.name +
                           ": cannot create its work dir: " + ec.message());
    } else if (inst->spec_.sandbox) {
      st = inst->spec_.sandbox->PrepareWorkDir(inst->spec_.work_dir)
               .WithContext("etl " + inst->spec_.name);
    }
    std::unique_ptr<Transformer> t;
    if (st.ok()) {
      auto made = opts_.factory(inst->spec_);
      if (made.ok()) {
        t = std::move(made).value();
        st = t->Start();
      } else {
        st = made.status();
      }
    }
    if (!st.ok()) spdlog::warn("etl {}: start failed: {}", inst->spec_.name, st.ToString());
    std::lock_guard<std::mutex> l(inst->mu_);
    inst->transformer_ = std::move(t);
    inst->stage_ = st.ok() ? Stage::kRunning : Stage::kError;
    inst->error_ = st.ok() ? "" : st.message();
  });
  return inst;
}

void EtlManager::StopInstance(const std::shared_ptr<EtlInstance>& inst) {
  if (inst->starter_.joinable()) inst->starter_.join();
  std::unique_lock<std::mutex> l(inst->mu_);
  if (inst->stage_ == Stage::kStopped) return;
  inst->stage_ = inst->stage_ == Stage::kError ? Stage::kError : Stage::kStopped;
  l.unlock();
  // Callers that acquired it before keep the object alive; its processes stop now.
  if (inst->transformer_) inst->transformer_->Stop();
  if (!inst->spec_.work_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(inst->spec_.work_dir, ec);
  }
}

void EtlManager::Apply(const std::vector<EtlEntry>& desired) {
  std::vector<std::shared_ptr<EtlInstance>> to_stop;
  {
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, EtlEntry> next;
    for (const auto& e : desired) next[e.name] = e;
    for (auto it = live_.begin(); it != live_.end();) {
      auto d = next.find(it->first);
      bool keep = d != next.end() && d->second.msg == it->second->msg_;
      if (keep && !d->second.running) {
        to_stop.push_back(it->second);  // stays listed as Stopped
        ++it;
      } else if (!keep) {
        to_stop.push_back(it->second);
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [name, e] : next) {
      auto it = live_.find(name);
      bool stopped = false;
      if (it != live_.end()) {
        std::lock_guard<std::mutex> il(it->second->mu_);
        stopped = it->second->stage_ == Stage::kStopped;
      }
      bool restart = stopped && desired_.count(name) && !desired_[name].running && e.running;
      if (it == live_.end() || restart) {
        if (restart) to_stop.push_back(it->second);
        if (e.running) {
          live_[name] = Launch(e);
        } else {
          auto inst = std::make_shared<EtlInstance>();
          inst->msg_ = e.msg;
          inst->stage_ = Stage::kStopped;
          live_[name] = inst;
        }
      }
    }
    desired_ = std::move(next);
  }
  for (auto& inst : to_stop) StopInstance(inst);
}

Result<std::string> EtlManager::Init(const std::string& msg) {
  AISLE_ASSIGN_OR_RETURN(EtlSpec spec, ParseInitMsg(msg));
  if (opts_.sandbox) AISLE_RETURN_IF_ERROR(opts_.sandbox->Admit(spec));
  std::vector<EtlEntry> next;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (desired_.count(spec.name))
      return Status::AlreadyExists("etl job " + spec.name + " already exists");
    for (const auto& [n, e] : desired_) next.push_back(e);
  }
  next.push_back({spec.name, msg, true});
  Apply(next);
  AISLE_ASSIGN_OR_RETURN(EtlStatus st, WaitReady(spec.name, spec.init_timeout_ms + 5000));
  if (st.stage == Stage::kRunning) return spec.name;
  (void)Delete(spec.name);
  if (st.stage == Stage::kInitializing)
    return Status::Timeout("etl " + spec.name + ": not ready within the init timeout");
  return Status::InvalidArgument(st.error.empty() ? "etl " + spec.name + ": failed to start"
                                                  : st.error);
}

std::vector<EtlEntry> EtlManager::Desired() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<EtlEntry> out;
  for (const auto& [n, e] : desired_) out.push_back(e);
  return out;
}

Status EtlManager::SetRunning(const std::string& name, bool running) {
  std::vector<EtlEntry> next = Desired();
  bool found = false;
  for (auto& e : next) {
    if (e.name == name) {
      e.running = running;
      found = true;
    }
  }
  if (!found) return Status::NotFound("etl job " + name + " does not exist");
  Apply(next);
  return Status::OK();
}

Status EtlManager::Delete(const std::string& name) {
  std::vector<EtlEntry> next = Desired();
  size_t before = next.size();
  std::erase_if(next, [&](const EtlEntry& e) { return e.name == name; });
  if (next.size() == before) return Status::NotFound("etl job " + name + " does not exist");
  Apply(next);
  return Status::OK();
}

Result<EtlStatus> EtlManager::WaitReady(const std::string& name, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(EtlStatus st, Get(name));
    if (st.stage != Stage::kInitializing || std::chrono::steady_clock::now() >= deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::shared_ptr<EtlInstance>> EtlManager::Acquire(const std::string& name) {
  std::shared_ptr<EtlInstance> inst;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(name);
    if (it == live_.end()) return Status::NotFound("etl job " + name + " does not exist");
    inst = it->second;
  }
  auto ready = [&] {
    std::lock_guard<std::mutex> l(inst->mu_);
    return inst->stage_ != Stage::kInitializing;
  };
  if (!ready()) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(inst->spec_.init_timeout_ms + 1000);
    while (!ready() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> l(inst->mu_);
  switch (inst->stage_) {
    case Stage::kRunning: return inst;
    case Stage::kInitializing: return Status::Unavailable("etl " + name + " is still initializing");
    case Stage::kStopped:
      return Status::Unavailable("etl " + name + " is stopped (start it with: aisle etl start " +
                                 name + ")");
    case Stage::kError: return Status::Unavailable("etl " + name + " failed: " + inst->error_);
  }
  return Status::Internal("etl " + name + ": unknown stage");
}

EtlStatus EtlManager::StatusOf(const std::string& name, const EtlInstance& inst,
                               bool with_logs) const {
  EtlStatus s;
  s.name = name;
  s.obj_count = inst.obj_count_.load();
  s.in_bytes = inst.in_bytes_.load();
  s.out_bytes = inst.out_bytes_.load();
  s.errors = inst.errors_.load();
  std::lock_guard<std::mutex> l(inst.mu_);
  s.msg = inst.msg_;
  s.comm = inst.spec_.name.empty() ? "" : CommName(inst.spec_.comm);
  s.stage = inst.stage_;
  s.error = inst.error_;
  s.obj_errors.assign(inst.obj_errors_.begin(), inst.obj_errors_.end());
  if (inst.transformer_ && inst.stage_ == Stage::kRunning) {
    s.health = inst.transformer_->Health();
    if (with_logs) s.logs = inst.transformer_->Logs();
  } else if (inst.stage_ != Stage::kRunning) {
    s.health = inst.error_.empty() ? StageName(inst.stage_) : inst.error_;
  }
  return s;
}

std::vector<EtlStatus> EtlManager::List(bool with_logs) const {
  std::vector<std::pair<std::string, std::shared_ptr<EtlInstance>>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.assign(live_.begin(), live_.end());
  }
  std::vector<EtlStatus> out;
  for (const auto& [name, inst] : all) out.push_back(StatusOf(name, *inst, with_logs));
  return out;
}

Result<EtlUsage> EtlManager::Usage(const std::string& name, int sample_ms) const {
  std::string dir;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(name);
    if (it == live_.end()) return Status::NotFound("etl job " + name + " does not exist");
    dir = it->second->spec_.work_dir;
  }
  EtlUsage u;
  if (dir.empty()) return u;  // built-ins run inside the target: no processes of their own
  ProcessUsage before = UsageOf(ProcessesUnder(dir));
  std::this_thread::sleep_for(std::chrono::milliseconds(sample_ms));
  ProcessUsage after = UsageOf(ProcessesUnder(dir));
  u.processes = after.processes;
  u.rss_bytes = after.rss_bytes;
  u.cpu_cores = std::max(0.0, (after.cpu_seconds - before.cpu_seconds) * 1000.0 / sample_ms);
  return u;
}

Result<EtlStatus> EtlManager::Get(const std::string& name, bool with_logs) const {
  std::shared_ptr<EtlInstance> inst;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(name);
    if (it == live_.end()) return Status::NotFound("etl job " + name + " does not exist");
    inst = it->second;
  }
  return StatusOf(name, *inst, with_logs);
}

}  // namespace aisle::etl
