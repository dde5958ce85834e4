// aisle-fs: mounts an Aisle cluster (or one bucket) with FUSE.
//   aisle-fs ENDPOINT[/BUCKET] MOUNTPOINT [-f] [-d] [-o opts]
#include <curl/curl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/fd_limit.h"
#include "common/logging.h"
#include "fs/client/http_cluster_client.h"
#include "fs/core/batch_cache.h"
#include "fs/core/filesystem.h"
#include "fs/core/mount_options.h"
#include "fs/fuse/fuse_ops.h"
#include "fs/metrics/fs_metrics_export.h"
#include "fs/metrics/metrics_listener.h"

namespace {

struct App {
  aisle::fs::MountConfig cfg;
  aisle::fs::FsMetrics metrics;
  std::unique_ptr<aisle::fs::MetricsListener> listener;  // -o metrics=...; bound before mount
  std::unique_ptr<aisle::metrics::Registry> registry;
  std::unique_ptr<aisle::fs::HttpClusterClient> client;
  std::unique_ptr<aisle::fs::Filesystem> fs;
};

// After fuse_daemonize (threads do not survive its fork): serve the mount's metrics.
void StartMetrics(App* app) {
  if (!app->listener) return;
  app->registry = std::make_unique<aisle::metrics::Registry>(aisle::metrics::Labels{});
  aisle::fs::Filesystem* fs = app->fs.get();
  aisle::fs::RegisterFsMetrics(
      app->metrics,
      [fs] {
        aisle::fs::CacheNumbers c;
        if (const auto* bc = fs->batch_cache()) {
          auto st = bc->stats();
          c.hits = st.hits;
          c.misses = st.misses;
          c.bytes = bc->used();
        }
        return c;
      },
      app->registry.get());
  app->listener->Start([reg = app->registry.get()] { return reg->Render(); });
  spdlog::info("aisle-fs: metrics at http://{}/metrics", app->cfg.metrics_addr);
}

aisle::fs::Filesystem* MakeFs(void* ctx) {
  auto* app = static_cast<App*>(ctx);
  try {
    app->fs = std::make_unique<aisle::fs::Filesystem>(*app->client, app->cfg.fs, &app->metrics);
    StartMetrics(app);
  } catch (const std::exception& e) {
    spdlog::error("aisle-fs: cannot start: {}", e.what());
    return nullptr;
  }
  return app->fs.get();
}

}  // namespace

int main(int argc, char** argv) {
  // Readahead parts are multi-MiB buffers allocated and freed at GiB/s. From mmap each
  // would page-fault (and zero) every page again; from the heap they are reused. The heap's
  // high-water mark is bounded by the readahead windows, so keep it instead of trimming.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_ARENA_MAX, 2);
  std::vector<std::string> args(argv, argv + argc);
  auto parsed = aisle::fs::ParseMountArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "aisle-fs: %s\n%s", parsed.status().message().c_str(),
                 aisle::fs::MountUsage().c_str());
    return 2;
  }
  App app;
  app.cfg = std::move(*parsed);
  if (app.cfg.help) {
    std::fputs(aisle::fs::MountUsage().c_str(), stdout);
    return 0;
  }
  if (app.cfg.version) {
    std::puts("aisle-fs 0.1.0");
    return 0;
  }
  std::string eps;  // every listed URL, for messages
  for (const auto& e : app.cfg.endpoints) eps += (eps.empty() ? "" : ",") + e;
  if (app.cfg.check) {
    std::printf("aisle-fs: arguments ok: endpoint %s, bucket %s, mountpoint %s\n", eps.c_str(),
                app.cfg.fs.bucket.empty() ? "(all)" : app.cfg.fs.bucket.c_str(),
                app.cfg.mountpoint.c_str());
    return 0;
  }
  aisle::InitLogging(app.cfg.debug ? "debug" : app.cfg.log_level, "aisle-fs");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  aisle::RaiseOpenFileLimit();
  if (app.cfg.fs.local_reads) {
    // A 1 MiB reply spliced from a local file needs a pipe of 2 MiB (pages are counted).
    std::ifstream in("/proc/sys/fs/pipe-max-size");
    long max_pipe = 0;
    if (in >> max_pipe && max_pipe < (2l << 20))
      spdlog::info(
          "aisle-fs: fs.pipe-max-size is {}: reads from local files are copied, not "
          "spliced (packaging/install-deps.sh raises it to 4 MiB)",
          max_pipe);
  }

  aisle::fs::HttpClusterOptions co;
  co.endpoints = app.cfg.endpoints;
  co.retry_budget = std::chrono::milliseconds(static_cast<int64_t>(app.cfg.retry_timeout * 1000));
  co.tls.ca_file = app.cfg.ca_file;
  if (const char* ca = std::getenv("AIS_CLIENT_CA"); ca && *ca && co.tls.ca_file.empty())
    co.tls.ca_file = ca;
  const char* skip = std::getenv("AIS_SKIP_VERIFY_CRT");
  co.tls.skip_verify =
      app.cfg.skip_verify || (skip && (std::string(skip) == "true" || std::string(skip) == "1"));
  if (const char* t = std::getenv("AIS_AUTHN_TOKEN"); t && *t) {
    co.token = t;
  } else if (!app.cfg.token_file.empty()) {
    std::ifstream in(app.cfg.token_file);
    if (!in || !std::getline(in, co.token) || co.token.empty()) {
      std::fprintf(stderr, "aisle-fs: --token-file %s: cannot read a token\n",
                   app.cfg.token_file.c_str());
      return 2;
    }
    while (!co.token.empty() && std::isspace(static_cast<unsigned char>(co.token.back())))
      co.token.pop_back();
  }
  co.metrics = &app.metrics;
  if (!app.cfg.metrics_addr.empty()) {
    auto l = aisle::fs::MetricsListener::Bind(app.cfg.metrics_addr);
    if (!l.ok()) {
      std::fprintf(stderr, "aisle-fs: %s\n", l.status().message().c_str());
      return 1;
    }
    app.listener = std::move(*l);
  }
  app.client = std::make_unique<aisle::fs::HttpClusterClient>(co);
  // Fail early, before mounting, when the cluster or the bucket is not there.
  if (app.cfg.fs.bucket.empty()) {
    auto b = app.client->ListBuckets();
    if (!b.ok()) {
      std::fprintf(stderr, "aisle-fs: cannot reach %s: %s\n", eps.c_str(),
                   b.status().ToString().c_str());
      return 1;
    }
  } else {
    aisle::fs::ListRequest lr;
    lr.bucket = app.cfg.fs.bucket;
    lr.page_size = 1;
    auto l = app.client->List(lr);
    if (!l.ok()) {
      std::fprintf(stderr, "aisle-fs: bucket %s at %s: %s\n", lr.bucket.c_str(), eps.c_str(),
                   l.status().ToString().c_str());
      return 1;
    }
  }
  if (auto st = app.client->RefreshClusterMap(); !st.ok()) {
    spdlog::warn("aisle-fs: no cluster map ({}); all requests go to {}", st.ToString(), eps);
  }
  int rc = aisle::fs::RunFuse(app.cfg, &MakeFs, &app);
  app.listener.reset();  // its thread renders from the filesystem: stop it first
  app.fs.reset();
  app.client.reset();
  curl_global_cleanup();
  return rc;
}
