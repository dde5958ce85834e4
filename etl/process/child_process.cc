#include "etl/process/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>

#include "etl/process/sandbox_child.h"

extern char** environ;

namespace aisle::etl {
namespace {

constexpr size_t kChildTailBytes = 8 * 1024;

void CloseFd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Resolves a program name like execvp does, in the parent (the child must not allocate).
std::string ResolveProgram(const std::string& name,
                           const std::vector<std::pair<std::string, std::string>>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path;
  for (const auto& [k, v] : env) {
    if (k == "PATH") path = v;
  }
  if (path.empty()) {
    const char* p = ::getenv("PATH");
    path = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

// In the child, between fork and exec: only async-signal-safe calls from here on.
[[noreturn]] void ChildFail(int err_fd, int err) {
  ssize_t r = ::write(err_fd, &err, sizeof(err));
  (void)r;
  ::_exit(127);
}

int MoveAbove2(int fd) {
  if (fd < 0 || fd > 2) return fd;
  return ::fcntl(fd, F_DUPFD, 3);
}

// execve's argv and envp, built before fork: the child must not allocate.
struct ExecArgs {
  std::vector<char*> argv;            // points into SpawnOptions::argv
  std::vector<std::string> env_strs;  // "K=V" of the variables SpawnOptions::env sets
  std::vector<char*> envp;            // environ without the overridden ones, then env_strs
};

void BuildExecArgs(const SpawnOptions& opts, ExecArgs& out) {
  for (const auto& a : opts.argv) out.argv.push_back(const_cast<char*>(a.c_str()));
  out.argv.push_back(nullptr);
  std::set<std::string> overridden;
  for (auto it = opts.env.rbegin(); it != opts.env.rend(); ++it) {  // the last one wins
    if (!overridden.insert(it->first).second) continue;
    out.env_strs.push_back(it->first + "=" + it->second);
  }
  if (opts.sandbox) {
    // A clean environment: nothing of the node's (paths, credentials) reaches the program.
    for (const char* kv : {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}) {
      std::string_view v(kv);
      if (overridden.count(std::string(v.substr(0, v.find('='))))) continue;
      out.envp.push_back(const_cast<char*>(kv));
    }
  } else {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      size_t eq = kv.find('=');
      if (eq != std::string_view::npos && overridden.count(std::string(kv.substr(0, eq)))) continue;
      out.envp.push_back(*e);
    }
  }
  for (auto& s : out.env_strs) out.envp.push_back(s.data());
  out.envp.push_back(nullptr);
}

// The descriptors of one spawn: [0] read end, [1] write end; -1 when not open.
struct SpawnPipes {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int exec[2] = {-1, -1};  // the child writes its errno here when exec fails
  int wake[2] = {-1, -1};  // wakes the stderr reader for shutdown
  int devnull = -1;        // the child's stdin when it is not piped
  void CloseAll() {
    for (int* p : {in, out, err, exec, wake}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
    CloseFd(devnull);
  }
};

// Opens what `opts` asks for; on failure nothing stays open.
Status OpenPipes(const SpawnOptions& opts, SpawnPipes& p) {
  auto fail = [&](const char* what) {
    Status s = Status::FromErrno(errno, what);
    p.CloseAll();
    return s;
  };
  if (opts.pipe_stdin) {
    if (::pipe2(p.in, O_CLOEXEC) != 0) return fail("pipe");
  } else {
    p.devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (p.devnull < 0) return fail("open /dev/null");
  }
  if (opts.pipe_stdout && ::pipe2(p.out, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(p.err, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(p.exec, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(p.wake, O_CLOEXEC) != 0) return fail("pipe");
  return Status::OK();
}

// The child after fork: its own process group (a sandboxed program stays in its init's),
// default signals, the limits and work directory, the pipes as fds 0-2, the ETL user, then
// exec. Only async-signal-safe calls; a failing step reports its errno on the exec pipe and
// exits 127.
[[noreturn]] void ExecChild(const SpawnOptions& opts, const std::string& prog, ExecArgs& args,
                            SpawnPipes& p, pid_t init_pid) {
  const char* work_dir = opts.work_dir.empty() ? nullptr : opts.work_dir.c_str();
  const Sandbox* sb = opts.sandbox;
  uint64_t mem = opts.memory_limit;
  if (sb && mem == 0) mem = sb->config().memory_limit;
  int efd = p.exec[1];
  if (!sb) ::setpgid(0, 0);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  if (sb) {
    if (int err = sandbox_child::ApplyLimits(sb->exec(), mem); err != 0) ChildFail(efd, err);
  } else if (mem > 0) {
    struct rlimit rl {};
    rl.rlim_cur = rl.rlim_max = mem;
    if (::setrlimit(RLIMIT_AS, &rl) != 0) ChildFail(efd, errno);
  }
  // As root, before the user switch: the work dir's parents are the node's (mode 0700), so
  // the program reaches its files relative to this cwd only.
  if (work_dir && ::chdir(work_dir) != 0) ChildFail(efd, errno);
  int in_src = MoveAbove2(opts.pipe_stdin ? p.in[0] : p.devnull);
  int err_src = MoveAbove2(p.err[1]);
  int out_src = MoveAbove2(opts.pipe_stdout ? p.out[1] : err_src);
  efd = MoveAbove2(efd);
  if (in_src < 0 || err_src < 0 || out_src < 0 || efd < 0) ChildFail(p.exec[1], errno);
  ::fcntl(efd, F_SETFD, FD_CLOEXEC);
  if (::dup2(in_src, 0) < 0 || ::dup2(out_src, 1) < 0 || ::dup2(err_src, 2) < 0) {
    ChildFail(efd, errno);
  }
  if (sb) {
    if (int err = sandbox_child::DropPrivileges(sb->exec()); err != 0) ChildFail(efd, err);
    // The init died before the user switch (PR_SET_PDEATHSIG came too late): do not run.
    if (::getppid() != init_pid) ChildFail(efd, ESRCH);
  }
  // Everything else is closed at exec (CLOSE_RANGE_CLOEXEC keeps efd usable until then).
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(prog.c_str(), args.argv.data(), args.envp.data());
  ChildFail(efd, errno);
}

// The sandboxed child after clone: the init of its PID namespace (etl/sandbox.h). It clones
// the program, then only reaps until the program exits or the node is gone.
[[noreturn]] void SandboxInit(const SpawnOptions& opts, const std::string& prog, ExecArgs& args,
                              SpawnPipes& p) {
  ::setpgid(0, 0);
  sandbox_child::PrepareInitSignals();
  pid_t self = ::getpid();
  pid_t program = sandbox_child::CloneRaw(0);
  if (program < 0) ChildFail(p.exec[1], errno);
  if (program == 0) ExecChild(opts, prog, args, p, self);
  sandbox_child::BecomeInit(program, opts.sandbox->exec());
}

// Parent: true when the child reported an exec failure (its errno in `child_errno`); the
// pipe closes without data once exec succeeds.
bool ExecFailed(int exec_rd, int* child_errno) {
  ssize_t n;
  do {
    n = ::read(exec_rd, child_errno, sizeof(*child_errno));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

}  // namespace

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "stopped";
}

ssize_t WriteNoSigpipe(int fd, const void* buf, size_t n) {
  sigset_t set, old, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  sigemptyset(&pending);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t r;
  do {
    r = ::write(fd, buf, n);
  } while (r < 0 && errno == EINTR);
  int err = errno;
  if (r < 0 && err == EPIPE && !was_pending) {
    struct timespec zero {};
    while (sigtimedwait(&set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return r;
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const SpawnOptions& opts) {
  if (opts.argv.empty() || opts.argv[0].empty()) {
    return Status::InvalidArgument("empty command");
  }
  std::string prog = ResolveProgram(opts.argv[0], opts.env);
  if (prog.empty()) return Status::NotFound("program '" + opts.argv[0] + "' not found in PATH");
  ExecArgs args;
  BuildExecArgs(opts, args);

  std::unique_ptr<ChildProcess> cp(new ChildProcess());
  cp->log_ = opts.log;
  SpawnPipes p;
  AISLE_RETURN_IF_ERROR(OpenPipes(opts, p));
  pid_t pid;
  if (opts.sandbox) {
    const SandboxExec& ex = opts.sandbox->exec();
    unsigned long ns = (ex.new_pid_ns ? CLONE_NEWPID : 0) | (ex.new_net_ns ? CLONE_NEWNET : 0);
    pid = sandbox_child::CloneRaw(ns);
    if (pid == 0) SandboxInit(opts, prog, args, p);
  } else {
    pid = ::fork();
    if (pid == 0) ExecChild(opts, prog, args, p, 0);
  }
  if (pid < 0) {
    Status s = Status::FromErrno(errno, opts.sandbox ? "clone" : "fork");
    p.CloseAll();
    return s;
  }
  cp->sandboxed_ = opts.sandbox != nullptr;
  ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
  cp->pid_ = pid;
  CloseFd(p.in[0]);
  CloseFd(p.out[1]);
  CloseFd(p.err[1]);
  CloseFd(p.exec[1]);
  CloseFd(p.devnull);
  int child_errno = 0;
  bool exec_failed = ExecFailed(p.exec[0], &child_errno);
  CloseFd(p.exec[0]);
  cp->stdin_fd_ = p.in[1];
  cp->stdout_fd_ = p.out[0];
  cp->stderr_fd_ = p.err[0];
  cp->wake_rd_ = p.wake[0];
  cp->wake_wr_ = p.wake[1];
  if (exec_failed) {
    // exec failed: the child already exited with 127.
    cp->reader_done_ = true;
    cp->Reap();
    return Status::FromErrno(child_errno, "exec " + opts.argv[0]);
  }
  for (int fd : {cp->stdin_fd_, cp->stdout_fd_}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ChildProcess* raw = cp.get();
  try {
    cp->reader_ = std::thread([raw] { raw->ReaderLoop(); });
  } catch (const std::exception& e) {
    cp->reader_done_ = true;
    cp->Kill(std::chrono::milliseconds(0));
    return Status::Internal(std::string("start stderr reader: ") + e.what());
  }
  return cp;
}

ChildProcess::~ChildProcess() {
  Kill(std::chrono::milliseconds(0));
  StopReader();
  CloseStdin();
  CloseStdout();
  CloseFd(stderr_fd_);
  CloseFd(wake_rd_);
  CloseFd(wake_wr_);
}

void ChildProcess::CloseStdin() { CloseFd(stdin_fd_); }
void ChildProcess::CloseStdout() { CloseFd(stdout_fd_); }

void ChildProcess::ReaderLoop() {
  char buf[8192];
  for (;;) {
    struct pollfd pfd[2] = {{stderr_fd_, POLLIN, 0}, {wake_rd_, POLLIN, 0}};
    int r = ::poll(pfd, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[1].revents) break;
    if (pfd[0].revents == 0) continue;
    ssize_t n = ::read(stderr_fd_, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    std::string_view chunk(buf, static_cast<size_t>(n));
    if (log_) log_->Append(chunk);
    std::lock_guard lock(mu_);
    tail_.append(chunk);
    if (tail_.size() > 2 * kChildTailBytes) tail_.erase(0, tail_.size() - kChildTailBytes);
  }
  std::lock_guard lock(mu_);
  reader_done_ = true;
  cv_.notify_all();
}

void ChildProcess::StopReader() {
  if (!reader_.joinable()) return;
  {
    // Give the reader a moment to drain what the (dead) child left in the pipe.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(reaped_ ? 500 : 0), [&] { return reader_done_; });
  }
  if (wake_wr_ >= 0) {
    char c = 1;
    ssize_t r = ::write(wake_wr_, &c, 1);
    (void)r;
  }
  reader_.join();
}

std::optional<int> ChildProcess::PeekExit() {
  std::lock_guard lock(wait_mu_);
  if (wait_status_) return wait_status_;
  if (pid_ <= 0) return std::nullopt;
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r < 0 && errno == EINTR);
  if (r < 0 || info.si_pid == 0) return std::nullopt;
  int st = (info.si_code == CLD_EXITED) ? ((info.si_status & 0xff) << 8) : (info.si_status & 0x7f);
  return sandboxed_ ? sandbox_child::ProgramWaitStatus(st) : st;
}

bool ChildProcess::Exited() { return PeekExit().has_value(); }

bool ChildProcess::WaitExit(std::chrono::steady_clock::time_point deadline) {
  auto step = std::chrono::milliseconds(1);
  for (;;) {
    if (Exited()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(step, left + std::chrono::milliseconds(1)));
    step = std::min(step * 2, std::chrono::milliseconds(20));
  }
}

void ChildProcess::Signal(int sig) {
  std::lock_guard lock(wait_mu_);
  if (reaped_ || pid_ <= 0) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

void ChildProcess::Kill(std::chrono::milliseconds grace) {
  if (reaped_ || pid_ <= 0) return;
  if (grace.count() > 0 && !Exited()) {
    Signal(SIGTERM);
    WaitExit(std::chrono::steady_clock::now() + grace);
  }
  Signal(SIGKILL);
  Reap();
}

void ChildProcess::Reap() {
  if (pid_ <= 0) return;
  WaitExit(std::chrono::steady_clock::time_point::max());
  std::lock_guard lock(wait_mu_);
  if (reaped_) return;
  // The leader is a zombie, so its process group id cannot be reused: kill leftovers.
  ::kill(-pid_, SIGKILL);
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, 0);
  } while (r < 0 && errno == EINTR);
  if (sandboxed_) st = sandbox_child::ProgramWaitStatus(st);
  wait_status_ = (r == pid_) ? st : 0;
  reaped_ = true;
}

std::string ChildProcess::ExitDescription() {
  auto st = PeekExit();
  if (!st) return "running";
  return DescribeWaitStatus(*st);
}

std::optional<int> ChildProcess::ExitCode() {
  auto st = PeekExit();
  if (!st || !WIFEXITED(*st)) return std::nullopt;
  return WEXITSTATUS(*st);
}

std::string ChildProcess::StderrTail(std::chrono::milliseconds wait_eof, size_t max_lines) {
  std::unique_lock lock(mu_);
  if (wait_eof.count() > 0) cv_.wait_for(lock, wait_eof, [&] { return reader_done_; });
  return LastLinesOf(tail_, max_lines);
}

}  // namespace aisle::etl
