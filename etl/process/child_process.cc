#include "etl/process/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>

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

  // argv and envp are built before fork: the child must not allocate.
  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::set<std::string> overridden;
  std::vector<std::string> env_strs;
  for (auto it = opts.env.rbegin(); it != opts.env.rend(); ++it) {  // the last one wins
    if (!overridden.insert(it->first).second) continue;
    env_strs.push_back(it->first + "=" + it->second);
  }
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos && overridden.count(std::string(kv.substr(0, eq)))) continue;
    envp.push_back(*e);
  }
  for (auto& s : env_strs) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::unique_ptr<ChildProcess> cp(new ChildProcess());
  cp->log_ = opts.log;
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1}, wake[2] = {-1, -1};
  int devnull = -1;
  auto cleanup = [&] {
    for (int* p : {in_pipe, out_pipe, err_pipe, exec_pipe, wake}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
    CloseFd(devnull);
  };
  auto fail = [&](const char* what) {
    Status s = Status::FromErrno(errno, what);
    cleanup();
    return s;
  };
  if (opts.pipe_stdin) {
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail("pipe");
  } else {
    devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) return fail("open /dev/null");
  }
  if (opts.pipe_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) return fail("pipe");
  if (::pipe2(wake, O_CLOEXEC) != 0) return fail("pipe");

  const char* work_dir = opts.work_dir.empty() ? nullptr : opts.work_dir.c_str();
  uint64_t mem = opts.memory_limit;
  pid_t pid = ::fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) {
    int efd = exec_pipe[1];
    ::setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    if (mem > 0) {
      struct rlimit rl {};
      rl.rlim_cur = rl.rlim_max = mem;
      if (::setrlimit(RLIMIT_AS, &rl) != 0) ChildFail(efd, errno);
    }
    if (work_dir && ::chdir(work_dir) != 0) ChildFail(efd, errno);
    int in_src = MoveAbove2(opts.pipe_stdin ? in_pipe[0] : devnull);
    int err_src = MoveAbove2(err_pipe[1]);
    int out_src = MoveAbove2(opts.pipe_stdout ? out_pipe[1] : err_src);
    efd = MoveAbove2(efd);
    if (in_src < 0 || err_src < 0 || out_src < 0 || efd < 0) ChildFail(exec_pipe[1], errno);
    ::fcntl(efd, F_SETFD, FD_CLOEXEC);
    if (::dup2(in_src, 0) < 0 || ::dup2(out_src, 1) < 0 || ::dup2(err_src, 2) < 0) {
      ChildFail(efd, errno);
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
    ::execve(prog.c_str(), argv.data(), envp.data());
    ChildFail(efd, errno);
  }
  ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
  cp->pid_ = pid;
  CloseFd(in_pipe[0]);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  CloseFd(exec_pipe[1]);
  CloseFd(devnull);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  CloseFd(exec_pipe[0]);
  cp->stdin_fd_ = in_pipe[1];
  cp->stdout_fd_ = out_pipe[0];
  cp->stderr_fd_ = err_pipe[0];
  cp->wake_rd_ = wake[0];
  cp->wake_wr_ = wake[1];
  if (n > 0) {
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
  return st;
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
