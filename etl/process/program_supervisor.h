// ProgramSupervisor: runs the long-lived program of an HTTP or WebSocket ETL (hpush, hpull,
// hrev, ws). Starts EtlSpec::command with PORT (a free 127.0.0.1 port), AIS_TARGET_URL,
// ETL_NAME and EtlSpec::env; waits until GET /health answers 200; a monitor thread notices
// when the program dies and restarts it (backoff: at least 1 s between starts, doubling up to
// 30 s while starts keep failing). The transformers ask Current() before each request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/net/http_client.h"
#include "common/result.h"
#include "common/status.h"
#include "etl/etl_spec.h"
#include "etl/process/child_process.h"
#include "etl/process/log_ring.h"

namespace aisle::etl {

struct ProgramEndpoint {
  std::string url;  // "http://127.0.0.1:PORT"
  int port = 0;
  uint64_t generation = 0;  // bumped on every (re)start
};

class ProgramSupervisor {
 public:
  ProgramSupervisor(const EtlSpec& spec, LogRing* log);
  ~ProgramSupervisor();
  ProgramSupervisor(const ProgramSupervisor&) = delete;
  ProgramSupervisor& operator=(const ProgramSupervisor&) = delete;

  // Starts the program and waits until it is healthy (EtlSpec::init_timeout_ms).
  Status Start();
  // Stops the monitor and the program (SIGTERM, SIGKILL after 2 s). Idempotent.
  void Stop();

  // The serving program, or kUnavailable "etl NAME: program exited with code 1: ... (restarting)".
  Result<ProgramEndpoint> Current();
  // After a failed request: the reason when the program has died ("" when it still runs).
  std::string DeathReason();
  // "" when serving, else why not.
  std::string Health();
  // Base URL of the serving program, "" when none.
  std::string Url() const;

 private:
  // Spawns the program and waits for /health; on success installs it as the current one.
  // Errors name the ETL ("etl NAME: ...").
  Status Launch();
  // Launch()'s work; its errors say why without naming the ETL (health text is built on them).
  Status LaunchProgram();
  void MonitorLoop();
  // Marks the current program dead when it exited; returns the reason or "".
  std::string NoteDeathLocked();
  bool stopping() const;

  EtlSpec spec_;
  std::string prefix_;
  LogRing* log_;
  HttpClient http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool serving_ = false;
  std::string health_;  // why not serving
  std::shared_ptr<ChildProcess> child_;
  ProgramEndpoint ep_;
  std::chrono::steady_clock::time_point last_launch_{};
  std::chrono::milliseconds backoff_{1000};
  std::thread monitor_;
};

}  // namespace aisle::etl
