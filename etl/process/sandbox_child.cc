#include "etl/process/sandbox_child.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace aisle::etl::sandbox_child {
namespace {

void NoopHandler(int) {}

int SetLimit(int resource, uint64_t value) {
  struct rlimit rl {};
  rl.rlim_cur = rl.rlim_max = value;
  return ::setrlimit(resource, &rl) == 0 ? 0 : errno;
}

void CloseAllBut(int keep) {
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
  bool ranged = keep < 0 ? ::syscall(SYS_close_range, 0U, ~0U, 0U) == 0
                         : (keep == 0 || ::syscall(SYS_close_range, 0U, keep - 1U, 0U) == 0) &&
                               ::syscall(SYS_close_range, keep + 1U, ~0U, 0U) == 0;
  if (ranged) return;
  long max = ::sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 0; fd < max; ++fd) {
    if (fd != keep) ::close(fd);
  }
}

// Decimal digits of v into buf (at least 24 bytes), without allocating.
char* FormatInt(long v, char* buf) {
  char tmp[24];
  int n = 0;
  bool neg = v < 0;
  unsigned long u = neg ? static_cast<unsigned long>(-v) : static_cast<unsigned long>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  int i = 0;
  if (neg) buf[i++] = '-';
  while (n > 0) buf[i++] = tmp[--n];
  buf[i] = '\0';
  return buf;
}

}  // namespace

pid_t CloneRaw(unsigned long ns_flags) {
  // The raw system call: glibc's fork() would take locks another thread of the node may hold.
  return static_cast<pid_t>(
      ::syscall(SYS_clone, SIGCHLD | ns_flags, nullptr, nullptr, nullptr, nullptr));
}

void PrepareInitSignals() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  struct sigaction sa {};
  sa.sa_handler = NoopHandler;  // a handler, so ppoll returns on SIGCHLD
  ::sigaction(SIGCHLD, &sa, nullptr);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::sigaction(sig, &ign, nullptr);
  }
}

int ApplyLimits(const SandboxExec& ex, uint64_t memory_limit) {
  int err = 0;
  if (memory_limit > 0 && (err = SetLimit(RLIMIT_AS, memory_limit)) != 0) return err;
  if (ex.max_procs > 0 && (err = SetLimit(RLIMIT_NPROC, ex.max_procs)) != 0) return err;
  if (ex.max_files > 0 && (err = SetLimit(RLIMIT_NOFILE, ex.max_files)) != 0) return err;
  if (ex.cpu_seconds > 0 && (err = SetLimit(RLIMIT_CPU, ex.cpu_seconds)) != 0) return err;
  return SetLimit(RLIMIT_CORE, 0);
}

int DropPrivileges(const SandboxExec& ex) {
  if (ex.switch_user) {
    // Raw calls: glibc's wrappers would try to signal the node's other threads.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
    if (::syscall(SYS_setresgid, ex.gid, ex.gid, ex.gid) != 0) return errno;
    if (::syscall(SYS_setresuid, ex.uid, ex.uid, ex.uid) != 0) return errno;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  // After the uid change, which clears it. The parent is the sandbox's init.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return errno;
  return 0;
}

void BecomeInit(pid_t program, const SandboxExec& ex) {
  CloseAllBut(ex.lifeline_fd);
  if (ex.init_exe != nullptr && ex.lifeline_fd >= 0) {
    ::fcntl(ex.lifeline_fd, F_SETFD, 0);  // survives the exec
    char pid_s[24], fd_s[24];
    char name[] = "aisle-etl-init";
    char flag[sizeof(kInitFlag)];
    for (size_t i = 0; i < sizeof(kInitFlag); ++i) flag[i] = kInitFlag[i];
    char* argv[] = {name, flag, FormatInt(program, pid_s), FormatInt(ex.lifeline_fd, fd_s),
                    nullptr};
    char* envp[] = {nullptr};
    ::execve(ex.init_exe, argv, envp);
    // Exec failed: stay a fork; reaping still works.
  }
  ReapLoop(program, ex.lifeline_fd);
}

bool IsInitInvocation(int argc, char** argv) {
  if (argc != 4) return false;
  const char* a = argv[1];
  for (size_t i = 0; i < sizeof(kInitFlag); ++i) {
    if (a[i] != kInitFlag[i]) return false;
  }
  return true;
}

int InitMain(int argc, char** argv) {
  if (!IsInitInvocation(argc, argv)) return 2;
  char* end = nullptr;
  long program = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || program <= 0) return 2;
  long fd = std::strtol(argv[3], &end, 10);
  if (*end != '\0' || fd < 0) return 2;
  PrepareInitSignals();
  ReapLoop(static_cast<pid_t>(program), static_cast<int>(fd));
}

void ReapLoop(pid_t program, int lifeline_fd) {
  sigset_t wait_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &wait_mask);
  sigdelset(&wait_mask, SIGCHLD);
  for (;;) {
    int st = 0;
    pid_t r;
    while ((r = ::waitpid(-1, &st, WNOHANG)) > 0) {
      if (r != program) continue;  // an orphan adopted by this init
      if (WIFEXITED(st)) ::_exit(WEXITSTATUS(st));
      ::_exit(128 + (WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL));
    }
    if (r < 0 && errno == ECHILD) ::_exit(128 + SIGKILL);  // cannot happen: program is ours
    struct pollfd pfd = {lifeline_fd, POLLIN, 0};
    int n =
        ::ppoll(lifeline_fd >= 0 ? &pfd : nullptr, lifeline_fd >= 0 ? 1 : 0, nullptr, &wait_mask);
    if (n > 0) ::_exit(128 + SIGKILL);  // the node is gone
  }
}

int ProgramWaitStatus(int init_status) {
  if (WIFEXITED(init_status)) {
    int code = WEXITSTATUS(init_status);
    if (code > 128 && code < 128 + NSIG) return code - 128;  // as a "killed by" status
  }
  return init_status;
}

}  // namespace aisle::etl::sandbox_child
