// ChildProcess: one spawned program (fork/exec) in its own process group — the one launcher
// of ETL programs and Python runtimes, which applies the node's Sandbox when given one, with
// optional pipes to its stdin/stdout. Its stderr (and its stdout, when not piped) is read by a
// per-child thread into a shared LogRing and a small per-child tail used in error messages.
// Every fd this module opens is O_CLOEXEC and the child closes every fd above 2 before exec.
// The destructor kills the whole process group and reaps the child: no zombies, no threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "etl/process/log_ring.h"
#include "etl/sandbox.h"

namespace aisle::etl {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Added to (and overriding) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string work_dir;       // "" = inherit
  uint64_t memory_limit = 0;  // RLIMIT_AS; 0 = unlimited (with a sandbox: the node's limit)
  bool pipe_stdin = false;    // else /dev/null
  bool pipe_stdout = false;   // else stdout goes where stderr goes (the log)
  LogRing* log = nullptr;     // stderr sink shared by the ETL's children; may be null
  // Confines the program (etl/sandbox.h): it then runs under a small init in its own PID
  // namespace, as the ETL user, with a clean environment (PATH, LANG and `env` only). Null:
  // a plain child of the node (unit tests).
  const Sandbox* sandbox = nullptr;
};

class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Spawn(const SpawnOptions& opts);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Parent ends of the pipes (non-blocking, O_CLOEXEC); -1 when not piped or closed.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  void CloseStdin();
  void CloseStdout();

  // True once the child has exited (it stays unreaped until Reap/Kill, so its pid and process
  // group id cannot be reused meanwhile).
  bool Exited();
  // Waits until the child exits or the deadline passes; true when it exited.
  bool WaitExit(std::chrono::steady_clock::time_point deadline);
  // Sends `sig` to the whole process group (no-op once reaped).
  void Signal(int sig);
  // SIGTERM to the group, up to `grace` for the child to exit, then SIGKILL to the group,
  // then reap. grace 0 = SIGKILL at once. Idempotent.
  void Kill(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // After the child exited: SIGKILL leftovers of its group, reap. Blocks until exit.
  void Reap();
  bool reaped() const { return reaped_; }

  // "exited with code 2", "killed by signal 9", "running".
  std::string ExitDescription();
  // Exit code if exited normally, else nullopt.
  std::optional<int> ExitCode();

  // The last lines of this child's stderr; waits up to `wait_eof` for the stderr reader to
  // reach the end (useful right after the child exited).
  std::string StderrTail(std::chrono::milliseconds wait_eof = std::chrono::milliseconds(0),
                         size_t max_lines = 10);

 private:
  ChildProcess() = default;
  void ReaderLoop();
  void StopReader();
  // Returns raw wait status once exited (without reaping), nullopt while running.
  std::optional<int> PeekExit();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_rd_ = -1, wake_wr_ = -1;  // wakes the reader thread up on shutdown
  LogRing* log_ = nullptr;
  std::thread reader_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool reader_done_ = false;
  std::string tail_;  // this child's stderr, bounded

  bool sandboxed_ = false;  // pid_ is the sandbox's init: its exit status encodes the program's
  std::mutex wait_mu_;
  bool reaped_ = false;
  std::optional<int> wait_status_;
};

// Writes to a pipe without raising SIGPIPE in the process (EPIPE is returned instead).
// Returns bytes written, or -1 with errno set (EAGAIN for a full non-blocking pipe).
ssize_t WriteNoSigpipe(int fd, const void* buf, size_t n);

// Human form of a wait() status: "exited with code 2", "killed by signal 9".
std::string DescribeWaitStatus(int status);

}  // namespace aisle::etl
