// aisle-node: config -> storage engine -> API handlers -> HTTP transport; waits for SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "common/logging.h"
#include "server/api/target_api.h"
#include "server/http/http_server.h"
#include "server/node_config.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace {

using aisle::Result;
using aisle::Status;

std::string GenerateNodeId() {
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string id(1, kLetters[rd() % (sizeof kLetters - 1)]);
  while (id.size() < 8) id += kAlnum[rd() % (sizeof kAlnum - 1)];
  return id;
}

// The node ID lives in the first mountpath so a restarted target keeps its identity.
Result<std::string> LoadOrCreateNodeId(const std::string& mountpath, const std::string& wanted) {
  std::string path = mountpath + "/.aisle/node-id";
  std::ifstream in(path);
  std::string id;
  if (in) std::getline(in, id);
  if (!wanted.empty()) {
    id = wanted;
  } else if (!id.empty()) {
    return id;
  } else {
    id = GenerateNodeId();
  }
  std::string tmp = path + ".tmp";
  {
    AISLE_ASSIGN_OR_RETURN(auto fh, aisle::storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
    AISLE_RETURN_IF_ERROR(aisle::storage::WriteAll(fh.get(), id.data(), id.size(), tmp));
    AISLE_RETURN_IF_ERROR(aisle::storage::FsyncFile(fh.get(), tmp));
  }
  AISLE_RETURN_IF_ERROR(aisle::storage::RenameFile(tmp, path));
  return id;
}

Status WriteReadyFile(const std::string& path, const std::string& url) {
  std::string tmp = path + ".tmp";
  {
    AISLE_ASSIGN_OR_RETURN(auto fh, aisle::storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
    AISLE_RETURN_IF_ERROR(aisle::storage::WriteAll(fh.get(), url.data(), url.size(), tmp));
  }
  return aisle::storage::RenameFile(tmp, path);
}

int Fail(const Status& st) {
  std::fprintf(stderr, "aisle-node: %s\n", st.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto cfg = aisle::ParseNodeConfig(argc, argv, &exit_code);
  if (!cfg.ok()) {
    if (exit_code == 0) return 0;  // --help
    if (cfg.status().message() != "bad command line") Fail(cfg.status());
    return exit_code;
  }
  // Signals are taken by sigwait below; writes to closed sockets return EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  aisle::InitLogging(cfg->log_level, "aisle-node");
  auto start = std::chrono::steady_clock::now();
  aisle::storage::StoreOptions sopts;
  sopts.mountpaths = cfg->mountpaths;
  sopts.max_object_size = cfg->max_object_size;
  auto store = aisle::storage::Store::Open(sopts);
  if (!store.ok()) return Fail(store.status());
  auto id = LoadOrCreateNodeId((*store)->mountpaths()[0], cfg->id);
  if (!id.ok()) return Fail(id.status());
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("target {}: {} mountpath(s), {} object(s) indexed in {:.3f}s", *id,
               (*store)->mountpaths().size(), (*store)->ObjectCount(), load_s);

  aisle::api::ApiContext ctx;
  ctx.store = store->get();
  ctx.node.id = *id;
  ctx.node.role = cfg->role;
  ctx.node.host = cfg->host;
  ctx.node.start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  aisle::http::ServerOptions hopts;
  hopts.host = cfg->host;
  hopts.port = static_cast<uint16_t>(cfg->port);
  hopts.io_threads = cfg->io_threads;
  hopts.workers = cfg->workers;
  aisle::http::HttpServer server(hopts, nullptr);
  if (Status st = server.Listen(); !st.ok()) return Fail(st);
  ctx.node.port = server.port();
  aisle::api::TargetApi api(ctx);
  server.SetHandler(&api);
  server.Start();
  std::string url = "http://" + cfg->host + ":" + std::to_string(server.port());
  if (!cfg->ready_file.empty()) {
    if (Status st = WriteReadyFile(cfg->ready_file, url); !st.ok()) return Fail(st);
  }
  std::printf("aisle-node: listening on %s\n", url.c_str());
  std::fflush(stdout);
  spdlog::info("serving on {} (target {})", url, *id);

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  server.Shutdown(std::chrono::seconds(10));
  spdlog::info("stopped");
  return 0;
}
