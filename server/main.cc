// aisle-node: config -> storage engine -> API handlers -> HTTP transport; waits for SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "common/fd_limit.h"
#include "common/hrw.h"
#include "common/logging.h"
#include "etl/etl_manager.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/proxy_cluster.h"
#include "server/cluster/target_cluster.h"
#include "server/http/http_server.h"
#include "server/local/local_read_server.h"
#include "server/native/local_read_handler.h"
#include "server/native/proxy_api.h"
#include "server/native/target_api.h"
#include "server/node_config.h"
#include "server/s3/s3_api.h"
#include "server/s3/s3_proxy.h"
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

// The node ID lives beside the node's data so a restarted node keeps its identity.
Result<std::string> LoadOrCreateNodeId(const std::string& dir, const std::string& wanted) {
  std::string path = dir + "/node-id";
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
  const uint64_t open_file_limit = aisle::RaiseOpenFileLimit();
  aisle::api::NodeContext node;
  node.role = cfg->role;
  node.host = cfg->host;
  node.start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  aisle::http::ServerOptions hopts;
  hopts.host = cfg->host;
  hopts.port = static_cast<uint16_t>(cfg->port);
  hopts.io_threads = cfg->io_threads;
  hopts.workers = cfg->workers;
  hopts.rate_limit_bps = cfg->rate_limit_bps;
  aisle::http::HttpServer server(hopts, nullptr);
  // Listen first: the node's URL (with an ephemeral port) is part of its identity in the map.
  if (Status st = server.Listen(); !st.ok()) return Fail(st);
  node.port = server.port();
  std::string url = "http://" + cfg->host + ":" + std::to_string(server.port());

  std::unique_ptr<aisle::storage::Store> store;
  std::unique_ptr<aisle::cluster::PeerClient> peers;
  std::unique_ptr<aisle::cluster::TargetCluster> target_cluster;
  std::unique_ptr<aisle::cluster::ProxyCluster> proxy_cluster;
  std::unique_ptr<aisle::api::Handler> api;
  std::unique_ptr<aisle::etl::EtlManager> etl_manager;
  std::unique_ptr<aisle::api::s3::S3Api> s3_api;
  std::unique_ptr<aisle::api::s3::S3ProxyApi> s3_proxy;  // S3 at a proxy (relayed)
  aisle::api::LocalReadCounters local_read_counters;
  std::unique_ptr<aisle::local::LocalReadServer> local_reads;  // after `store`: it holds files
  auto self_node = [&] {
    aisle::cluster::Node n;
    n.id = node.id;
    n.role = node.role;
    n.host = node.host;
    n.port = node.port;
    n.id_digest = aisle::HrwDigest(n.id);
    return n;
  };
  if (cfg->role == "target") {
    auto start = std::chrono::steady_clock::now();
    aisle::storage::StoreOptions sopts;
    sopts.mountpaths = cfg->mountpaths;
    sopts.max_object_size = cfg->max_object_size;
    auto opened = aisle::storage::Store::Open(sopts);
    if (!opened.ok()) return Fail(opened.status());
    store = std::move(opened).value();
    auto id = LoadOrCreateNodeId(store->mountpaths()[0] + "/.aisle", cfg->id);
    if (!id.ok()) return Fail(id.status());
    node.id = *id;
    double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("target {}: {} mountpath(s), {} object(s) indexed in {:.3f}s", node.id,
                 store->mountpaths().size(), store->ObjectCount(), load_s);
    aisle::api::ApiContext ctx;
    ctx.store = store.get();
    ctx.node = node;
    ctx.request_shutdown = [] { ::kill(::getpid(), SIGTERM); };
    peers = std::make_unique<aisle::cluster::PeerClient>(node.id);
    ctx.peers = peers.get();
    if (!cfg->primary_url.empty()) {
      target_cluster = std::make_unique<aisle::cluster::TargetCluster>(
          aisle::cluster::TargetCluster::Options{self_node(), cfg->primary_url, cfg->keepalive_ms},
          store.get(), peers.get());
      ctx.cluster = target_cluster.get();
    }
    // ETL programs run as children of this target, with scratch space on its first mountpath.
    etl_manager = std::make_unique<aisle::etl::EtlManager>(
        aisle::etl::EtlManager::Options{store->mountpaths()[0] + "/.aisle/etl", url, {}});
    ctx.etl = etl_manager.get();
    if (target_cluster) {
      target_cluster->SetEtlMdListener(
          [m = etl_manager.get()](std::shared_ptr<const aisle::cluster::EtlMd> md) {
            std::vector<aisle::etl::EtlEntry> want;
            for (const auto& [name, e] : md->etls) want.push_back({name, e.msg, e.running});
            m->Apply(want);
          });
    }
    aisle::api::s3::S3Options s3opts;
    s3opts.keys = cfg->s3_keys;
    s3opts.region = cfg->s3_region;
    s3opts.vhost_domain = cfg->s3_vhost_domain;
    s3_api = std::make_unique<aisle::api::s3::S3Api>(store.get(), std::move(s3opts), node);
    ctx.s3 = s3_api.get();
    if (cfg->local_reads && cfg->rate_limit_bps == 0) {
      ctx.local_reads = &local_read_counters;
      auto started = aisle::local::LocalReadServer::Start(
          // Each held object costs the node a descriptor: keep most of the limit for HTTP.
          {node.id, 2, static_cast<size_t>(std::clamp<uint64_t>(open_file_limit / 4, 16, 4096))},
          [ctx](const aisle::localread::OpenRequest& req) mutable {
            return aisle::api::OpenForLocalRead(ctx, req);
          });
      if (started.ok()) {
        local_reads = std::move(started).value();
      } else {  // e.g. the name taken by another process: serve, just without local reads
        spdlog::warn("local reads off: {}", started.status().ToString());
        ctx.local_reads = nullptr;
      }
    }
    api = std::make_unique<aisle::api::TargetApi>(ctx);
  } else {
    if (Status st = aisle::storage::MakeDirs(cfg->data_dir); !st.ok()) return Fail(st);
    auto id = LoadOrCreateNodeId(cfg->data_dir, cfg->id);
    if (!id.ok()) return Fail(id.status());
    node.id = *id;
    peers = std::make_unique<aisle::cluster::PeerClient>(node.id);
    proxy_cluster = std::make_unique<aisle::cluster::ProxyCluster>(
        aisle::cluster::ProxyCluster::Options{self_node(), cfg->data_dir, cfg->primary_url,
                                              cfg->keepalive_ms, cfg->down_after_ms},
        peers.get());
    auto proxy_api = std::make_unique<aisle::api::ProxyApi>(node, proxy_cluster.get());
    aisle::api::s3::S3Options s3opts;
    s3opts.keys = cfg->s3_keys;
    s3opts.region = cfg->s3_region;
    s3opts.vhost_domain = cfg->s3_vhost_domain;
    s3_proxy =
        std::make_unique<aisle::api::s3::S3ProxyApi>(proxy_cluster.get(), std::move(s3opts), node);
    proxy_api->SetS3(s3_proxy.get(),
                     [p = s3_proxy.get()](const aisle::api::Request& r) { return p->Matches(r); });
    api = std::move(proxy_api);
  }
  server.SetHandler(api.get());
  server.Start();
  // Join after serving: the primary pushes the new map to this node right away.
  if (target_cluster) {
    if (Status st = target_cluster->Start(std::chrono::seconds(60)); !st.ok()) return Fail(st);
  }
  if (proxy_cluster) {
    if (Status st = proxy_cluster->Start(std::chrono::seconds(60)); !st.ok()) return Fail(st);
  }
  if (!cfg->ready_file.empty()) {
    if (Status st = WriteReadyFile(cfg->ready_file, url); !st.ok()) return Fail(st);
  }
  std::printf("aisle-node: listening on %s\n", url.c_str());
  std::fflush(stdout);
  spdlog::info("serving on {} ({} {}{})", url, node.role, node.id,
               cfg->primary_url.empty() ? (node.role == "proxy" ? ", primary" : "")
                                        : ", joined " + cfg->primary_url);

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  if (target_cluster) target_cluster->Stop();
  if (proxy_cluster) proxy_cluster->Stop();
  server.Shutdown(std::chrono::seconds(10));
  local_reads.reset();
  etl_manager.reset();  // stops ETL child processes
  spdlog::info("stopped");
  return 0;
}
