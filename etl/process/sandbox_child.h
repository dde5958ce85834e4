// The launcher's steps inside a sandboxed child (ChildProcess::Spawn with a Sandbox): they
// run between clone and exec of a multi-threaded node, so only raw system calls and
// async-signal-safe functions; failures are errno values.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "etl/sandbox.h"

namespace aisle::etl::sandbox_child {

// clone() as fork() with extra namespace flags (CLONE_NEWPID, CLONE_NEWNET); no atfork
// handlers run. Returns 0 in the child, the child's pid in the parent, -1 with errno.
pid_t CloneRaw(unsigned long ns_flags);

// The init's signals, set before it clones the program: SIGCHLD blocked (ppoll takes it),
// termination signals ignored (the program gets them through the process group).
void PrepareInitSignals();

// RLIMIT_AS (0 = none), RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_CPU, RLIMIT_CORE 0. 0 or errno.
int ApplyLimits(const SandboxExec& ex, uint64_t memory_limit);

// No supplementary groups, gid and uid of the ETL user (real, effective, saved), no new
// privileges through exec, SIGKILL when the init dies. 0 or errno.
int DropPrivileges(const SandboxExec& ex);

// The namespace's init: closes every descriptor but the lifeline, execs SandboxExec::init_exe
// (so it stops pinning the node's memory, which a fork shares copy-on-write) when set, and
// runs ReapLoop.
[[noreturn]] void BecomeInit(pid_t program, const SandboxExec& ex);

// Reaps every child; exits when `program` does (its exit code, or 128 + the signal that
// killed it) or when the node is gone (lifeline EOF). Its exit kills whatever is left in the
// PID namespace.
[[noreturn]] void ReapLoop(pid_t program, int lifeline_fd);

// The exec'd init: `aisle-etl-init --etl-sandbox-init PROGRAM_PID LIFELINE_FD`. aisle-node's
// main() asks IsInitInvocation before anything else and then returns InitMain's code.
inline constexpr char kInitFlag[] = "--etl-sandbox-init";
bool IsInitInvocation(int argc, char** argv);
int InitMain(int argc, char** argv);

// Decodes an init's exit status back into the program's: 128 + N becomes "killed by N".
int ProgramWaitStatus(int init_status);

}  // namespace aisle::etl::sandbox_child
