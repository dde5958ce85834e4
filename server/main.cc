// aisle-node: flags -> NodeConfig -> BuildNode -> serve until SIGTERM/SIGINT.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <variant>

#include "common/fd_limit.h"
#include "common/logging.h"
#include "etl/process/sandbox_child.h"
#include "server/node.h"
#include "server/node_config.h"

namespace {

int Fail(const aisle::Status& st) {
  std::fprintf(stderr, "aisle-node: %s\n", st.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // An ETL sandbox's init, exec'd by the launcher (etl/sandbox.h): nothing else of the node.
  if (aisle::etl::sandbox_child::IsInitInvocation(argc, argv))
    return aisle::etl::sandbox_child::InitMain(argc, argv);
  auto parsed = aisle::ParseNodeConfig(argc, argv);
  if (const auto* exit = std::get_if<aisle::ExitNow>(&parsed)) {
    if (!exit->error.empty()) std::fprintf(stderr, "aisle-node: %s\n", exit->error.c_str());
    return exit->code;
  }
  const aisle::NodeConfig& cfg = std::get<aisle::NodeConfig>(parsed);
  if (cfg.check_config) {
    std::printf("%s\n", aisle::EffectiveConfigJson(cfg).c_str());
    return 0;
  }
  // Request handlers run on many threads; with glibc's default of 8 arenas per core each
  // arena keeps the high-water mark of the requests it served (a 10000-entry listing page is
  // ~12 MiB of JSON nodes), ~190 MiB after one full listing. Two arenas bound that at ~30 MiB
  // (docs/BENCHMARKS.md, object index).
  mallopt(M_ARENA_MAX, 2);
  // Signals are taken by sigwait below; writes to closed sockets return EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);  // reloads the TLS certificate and key
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  aisle::InitLogging(cfg.log_level, "aisle-node", cfg.log_format);
  aisle::NodeHost host;
  host.request_shutdown = [] { ::kill(::getpid(), SIGTERM); };
  host.open_file_limit = aisle::RaiseOpenFileLimit();
  auto node = aisle::BuildNode(cfg, std::move(host));
  if (!node.ok()) return Fail(node.status());
  if (cfg.log_format == "json") aisle::SetJsonLogNode((*node)->id());
  if (aisle::Status st = (*node)->Start(); !st.ok()) return Fail(st);

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    if (cfg.tls_cert_file.empty()) {
      spdlog::info("SIGHUP: no TLS certificate to reload");
    } else if (aisle::Status st = (*node)->ReloadTls(); st.ok()) {
      spdlog::info("SIGHUP: reloaded TLS certificate {} and key {}", cfg.tls_cert_file,
                   cfg.tls_key_file);
    } else {
      spdlog::error("SIGHUP: TLS reload failed, keeping the old certificate: {}", st.message());
    }
  }
  spdlog::info("signal {}: shutting down", sig);
  (*node)->Stop();
  spdlog::info("stopped");
  return 0;
}
