#include "etl/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace aisle::etl {
namespace {

constexpr char kDefaultUser[] = "aisle-etl";
constexpr char kFallbackUser[] = "nobody";

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};

// "UID" or "UID:GID": ids without a passwd entry (containers, a uid of its own for tests).
bool ParseNumericUser(const std::string& s, UserIds* out) {
  size_t colon = s.find(':');
  std::string u = s.substr(0, colon), g = colon == std::string::npos ? u : s.substr(colon + 1);
  auto digits = [](const std::string& v) {
    return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(u) || !digits(g)) return false;
  out->uid = static_cast<uid_t>(std::stoul(u));
  out->gid = static_cast<gid_t>(std::stoul(g));
  return true;
}

// getpwnam_r: the node is multi-threaded.
Result<UserIds> LookUpUser(const std::string& name) {
  UserIds numeric;
  if (ParseNumericUser(name, &numeric)) return numeric;
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  int r = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (r != 0) return Status::FromErrno(r, "look up user " + name);
  if (!found) return Status::NotFound("no user named " + name);
  return UserIds{pw.pw_uid, pw.pw_gid};
}

std::string Size(uint64_t b) {
  if (b % (1ull << 30) == 0) return std::to_string(b >> 30) + "GiB";
  if (b % (1ull << 20) == 0) return std::to_string(b >> 20) + "MiB";
  return std::to_string(b) + "B";
}

}  // namespace

Result<EtlNetwork> ParseEtlNetwork(std::string_view s) {
  if (s == "host") return EtlNetwork::kHost;
  if (s == "none") return EtlNetwork::kNone;
  return Status::InvalidArgument("--etl-network must be host or none, not \"" + std::string(s) +
                                 "\"");
}

const char* EtlNetworkName(EtlNetwork n) { return n == EtlNetwork::kNone ? "none" : "host"; }

bool CommNeedsNetwork(Comm c) {
  return c == Comm::kHpush || c == Comm::kHpull || c == Comm::kHrev || c == Comm::kWs;
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxConfig& cfg) {
  std::unique_ptr<Sandbox> sb(new Sandbox(cfg));
  SandboxExec& ex = sb->exec_;
  ex.max_procs = cfg.max_procs;
  ex.max_files = cfg.max_files;
  ex.cpu_seconds = cfg.cpu_seconds;
  if (!sb->cfg_.init_exe.empty()) ex.init_exe = sb->cfg_.init_exe.c_str();
  if (::geteuid() == 0) {
    std::string name = cfg.user;
    Result<UserIds> ids = Status::NotFound("");
    if (name.empty()) {
      name = kDefaultUser;
      ids = LookUpUser(name);
      if (!ids.ok()) {
        name = kFallbackUser;
        ids = LookUpUser(name);
      }
    } else {
      ids = LookUpUser(name);
    }
    if (!ids.ok()) return ids.status().WithContext("--etl-user");
    if (ids->uid == 0 || ids->gid == 0) {
      return Status::InvalidArgument("--etl-user " + name + ": ETL programs must not run as root");
    }
    sb->user_name_ = name;
    ex.switch_user = true;
    ex.uid = ids->uid;
    ex.gid = ids->gid;
    ex.new_pid_ns = true;
    ex.new_net_ns = cfg.network == EtlNetwork::kNone;
  } else {
    sb->user_name_ = "the node's own user (not root: no user switch, no namespaces)";
    if (cfg.network == EtlNetwork::kNone) {
      return Status::InvalidArgument("--etl-network none needs a node running as root");
    }
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "ETL sandbox lifeline pipe");
  ex.lifeline_fd = fds[0];
  sb->lifeline_wr_ = fds[1];
  return sb;
}

Sandbox::~Sandbox() {
  if (exec_.lifeline_fd >= 0) ::close(exec_.lifeline_fd);
  if (lifeline_wr_ >= 0) ::close(lifeline_wr_);
}

std::string Sandbox::Describe() const {
  std::string who = exec_.switch_user ? "user " + user_name_ + " (" + std::to_string(exec_.uid) +
                                            ":" + std::to_string(exec_.gid) + ")"
                                      : user_name_;
  return who + ", network " + EtlNetworkName(cfg_.network) + ", pid namespace " +
         (exec_.new_pid_ns ? "yes" : "no") + ", memory " + Size(cfg_.memory_limit) +
         ", processes " + std::to_string(cfg_.max_procs) + ", files " +
         std::to_string(cfg_.max_files) + ", cpu " + std::to_string(cfg_.cpu_seconds) + "s";
}

Status Sandbox::Admit(const EtlSpec& spec) const {
  if (cfg_.network == EtlNetwork::kNone && CommNeedsNetwork(spec.comm)) {
    return Status::InvalidArgument(
        "etl " + spec.name + ": " + CommName(spec.comm) +
        " needs the network, and this cluster runs ETLs with --etl-network none (use io:// or "
        "Python code)");
  }
  if (spec.memory_limit > cfg_.memory_limit) {
    return Status::InvalidArgument("etl " + spec.name + ": memory_limit " +
                                   Size(spec.memory_limit) + " is above the node's limit of " +
                                   Size(cfg_.memory_limit) + " (--etl-memory-limit)");
  }
  return Status::OK();
}

uint64_t Sandbox::MemoryLimitFor(const EtlSpec& spec) const {
  return spec.memory_limit > 0 ? spec.memory_limit : cfg_.memory_limit;
}

Status Sandbox::PrepareWorkDir(const std::string& dir) const {
  if (exec_.switch_user && ::chown(dir.c_str(), exec_.uid, exec_.gid) != 0) {
    return Status::FromErrno(errno, "chown ETL work dir");
  }
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod ETL work dir");
  return Status::OK();
}

}  // namespace aisle::etl
