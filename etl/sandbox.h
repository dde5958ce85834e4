// Sandbox: how a target confines the programs and Python code of its ETLs (docs/SECURITY.md,
// "ETL sandbox"). The policy is decided once per node (--etl-user, --etl-network, limits);
// ChildProcess::Spawn (etl/process/child_process.cc) is the one launcher that applies it:
// a new PID namespace (and network namespace with --etl-network none) whose init is a small
// reaper, the program as an unprivileged user with no supplementary groups, rlimits, a clean
// environment, PR_SET_NO_NEW_PRIVS and PR_SET_PDEATHSIG. The node holds the write end of a
// "lifeline" pipe; every sandbox init watches the read end and exits when the node is gone,
// which makes the kernel kill everything in its namespace.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "etl/etl_spec.h"

namespace aisle::etl {

enum class EtlNetwork {
  kHost,  // the node's network (hpush/hpull/hrev/ws programs listen on 127.0.0.1)
  kNone,  // a private network namespace with no interface up: io:// and Python code only
};
Result<EtlNetwork> ParseEtlNetwork(std::string_view s);  // "host" | "none"
const char* EtlNetworkName(EtlNetwork n);

struct SandboxConfig {
  std::string user;  // a name, or UID[:GID]; "" = "aisle-etl" when it exists, else "nobody"
  EtlNetwork network = EtlNetwork::kHost;
  uint64_t memory_limit = 2ull << 30;  // RLIMIT_AS per process: default and maximum
  uint64_t max_procs = 256;            // RLIMIT_NPROC (counted per uid by the kernel)
  uint64_t max_files = 1024;           // RLIMIT_NOFILE
  uint64_t cpu_seconds = 24 * 3600;    // RLIMIT_CPU per process
  // The binary the namespace's init execs into (aisle-node answers --etl-sandbox-init), so it
  // does not stay a copy of the node's address space. "" = the init stays a fork (tests).
  std::string init_exe;
};

// What the launcher applies between clone and exec: plain values, nothing to allocate.
struct SandboxExec {
  bool switch_user = false;  // false when the node does not run as root
  uid_t uid = 0;
  gid_t gid = 0;
  bool new_pid_ns = false;
  bool new_net_ns = false;
  int lifeline_fd = -1;            // read end; readable (EOF) once the node is gone
  const char* init_exe = nullptr;  // SandboxConfig::init_exe, or null
  uint64_t max_procs = 0, max_files = 0, cpu_seconds = 0;
};

class Sandbox {
 public:
  // Resolves the user and opens the lifeline. A node not running as root cannot switch users
  // or create namespaces: programs then run as the node's user with the rlimits only (the
  // caller logs Describe()).
  static Result<std::unique_ptr<Sandbox>> Create(const SandboxConfig& cfg);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const SandboxConfig& config() const { return cfg_; }
  // "user nobody (65534:65534), network host, memory 2GiB, ..." for the start log.
  std::string Describe() const;
  // Refuses (kInvalidArgument) what cannot run under this policy: a protocol that needs the
  // network with --etl-network none, a memory_limit above the node's.
  Status Admit(const EtlSpec& spec) const;
  // RLIMIT_AS for the spec's processes: its memory_limit, else the node's.
  uint64_t MemoryLimitFor(const EtlSpec& spec) const;
  // Makes `dir` the ETL user's own (owner uid:gid, mode 0700).
  Status PrepareWorkDir(const std::string& dir) const;
  const SandboxExec& exec() const { return exec_; }

 private:
  explicit Sandbox(SandboxConfig cfg) : cfg_(std::move(cfg)) {}

  SandboxConfig cfg_;
  std::string user_name_;
  SandboxExec exec_;
  int lifeline_wr_ = -1;
};

// True for communication types whose program the node reaches over TCP (hpush, hpull, hrev,
// ws): they cannot work without the network.
bool CommNeedsNetwork(Comm c);

}  // namespace aisle::etl
