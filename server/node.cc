#include "server/node.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "common/clock.h"
#include "common/hrw.h"
#include "common/logging.h"
#include "common/net/intra_auth.h"
#include "etl/etl_manager.h"
#include "etl/sandbox.h"
#include "server/api/metrics_endpoint.h"
#include "server/api/peer_auth.h"
#include "server/api/request_log.h"
#include "server/api/user_auth.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/proxy_cluster.h"
#include "server/cluster/target_cluster.h"
#include "server/http/http_server.h"
#include "server/jobs/job_registry.h"
#include "server/local/local_read_server.h"
#include "server/metrics/registry.h"
#include "server/native/proxy_api.h"
#include "server/native/target_api.h"
#include "server/s3/s3_api.h"
#include "server/s3/s3_proxy.h"
#include "server/shards/shard_cache.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"
#include "server/storage/work_dirs.h"

namespace aisle {
namespace {

// The node's directories are its own (mode 0700): ETL programs run as another user and
// must not read objects or the node's files by path (docs/SECURITY.md, "ETL sandbox").
Status MakePrivate(const std::string& dir) {
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod 0700 " + dir);
  return Status::OK();
}

Result<std::shared_ptr<const etl::Sandbox>> MakeEtlSandbox(const NodeConfig& cfg) {
  etl::SandboxConfig sc;
  sc.user = cfg.etl_user;
  AISLE_ASSIGN_OR_RETURN(sc.network, etl::ParseEtlNetwork(cfg.etl_network));
  sc.memory_limit = cfg.etl_memory_limit;
  sc.max_procs = cfg.etl_max_procs;
  sc.init_exe = "/proc/self/exe";  // run by the init, a fork of this node: this binary
  AISLE_ASSIGN_OR_RETURN(std::unique_ptr<etl::Sandbox> sb, etl::Sandbox::Create(sc));
  spdlog::info("ETL sandbox: {}", sb->Describe());
  return std::shared_ptr<const etl::Sandbox>(std::move(sb));
}

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
  std::string path = storage::NodeIdFile(dir);
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
    AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
    AISLE_RETURN_IF_ERROR(storage::WriteAll(fh.get(), id.data(), id.size(), tmp));
    AISLE_RETURN_IF_ERROR(storage::FsyncFile(fh.get(), tmp));
  }
  AISLE_RETURN_IF_ERROR(storage::RenameFile(tmp, path));
  return id;
}

Status WriteReadyFile(const std::string& path, const std::string& url) {
  std::string tmp = path + ".tmp";
  {
    AISLE_ASSIGN_OR_RETURN(auto fh, storage::OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
    AISLE_RETURN_IF_ERROR(storage::WriteAll(fh.get(), url.data(), url.size(), tmp));
  }
  return storage::RenameFile(tmp, path);
}

cluster::Node ClusterSelf(const api::NodeContext& self) {
  cluster::Node n;
  n.id = self.id;
  n.role = self.role;
  n.host = self.host;
  n.port = self.port;
  n.tls = self.tls;
  n.id_digest = HrwDigest(n.id);
  return n;
}

api::s3::S3Options S3OptionsOf(const NodeConfig& cfg) {
  api::s3::S3Options o;
  o.keys = cfg.s3_keys;
  o.region = cfg.s3_region;
  o.vhost_domain = cfg.s3_vhost_domain;
  o.auth = cfg.auth;
  return o;
}

}  // namespace

Result<std::unique_ptr<Node>> BuildNode(const NodeConfig& cfg, NodeHost host) {
  std::unique_ptr<Node> node(new Node(cfg, std::move(host)));
  AISLE_RETURN_IF_ERROR(node->Build());
  return node;
}

Node::Node(NodeConfig cfg, NodeHost host) : cfg_(std::move(cfg)), host_(std::move(host)) {}

Node::~Node() { Stop(); }

Status Node::Build() {
  self_.role = cfg_.role;
  // The map and redirects carry the advertised address (a wildcard listen address is not one).
  self_.host = cfg_.advertise_host.empty() ? cfg_.host : cfg_.advertise_host;
  self_.start_ns = NowNs();
  http::ServerOptions hopts;
  hopts.host = cfg_.host;
  hopts.port = static_cast<uint16_t>(cfg_.port);
  hopts.io_threads = cfg_.io_threads;
  hopts.workers = cfg_.workers;
  hopts.head_timeout_ms = cfg_.head_timeout_ms;
  hopts.max_conns_per_ip = cfg_.max_conns_per_ip;
  // Peers' keepalives, map pushes and health checks have their own workers: a flood of client
  // requests must not make the primary declare healthy nodes down.
  hopts.priority_paths = {"/v1/cluster/keepalive/", "/v1/metasync", "/v1/health"};
  hopts.priority_header = cluster::kIntraHeader;
  hopts.rate_limit_bps = cfg_.rate_limit_bps;
  hopts.tls = http::TlsFiles{cfg_.tls_cert_file, cfg_.tls_key_file, cfg_.tls_client_ca_file};
  server_ = std::make_unique<http::HttpServer>(hopts, nullptr);
  // Listen first: the node's URL (with an ephemeral port) is part of its identity in the map.
  AISLE_RETURN_IF_ERROR(server_->Listen());
  self_.port = server_->port();
  self_.tls = server_->tls();
  url_ = self_.Url();
  jobs_ = std::make_unique<jobs::Registry>();
  if (!cfg_.cluster_secret_file.empty()) {
    AISLE_ASSIGN_OR_RETURN(ClusterSecret secret, ClusterSecret::Load(cfg_.cluster_secret_file));
    secret_ = std::make_unique<ClusterSecret>(std::move(secret));
    if (cfg_.auth) user_auth_ = std::make_unique<api::UserAuth>(secret_.get());
  } else {
    spdlog::warn(
        "NO CLUSTER SECRET (--cluster-secret-file): node-to-node requests are unauthenticated; "
        "any client can send cluster messages (see docs/SECURITY.md)");
  }
  AISLE_RETURN_IF_ERROR(cfg_.role == "target" ? BuildTarget() : BuildProxy());
  RegisterMetrics();
  logged_ = std::make_unique<api::RequestLog>(front_.get(), cfg_.log_format == "json");
  server_->SetHandler(logged_.get());
  return Status::OK();
}

void Node::RegisterMetrics() {
  using metrics::MetricType;
  using metrics::Sample;
  metrics_ = std::make_unique<metrics::Registry>(metrics::Labels{{"node_id", self_.id}});
  metrics::Registry& r = *metrics_;
  const bool target = self_.role == "target";
  const std::string ais = target ? "ais_target_" : "ais_proxy_";
  r.AddGauge(ais + "uptime", "this node's uptime since its startup (seconds)",
             [start = self_.start_ns] { return static_cast<double>(NowNs() - start) / 1e9; });
  if (target) {
    metrics::RegisterTarget(r, target_metrics_);
  } else {
    metrics::RegisterProxy(r, proxy_metrics_);
  }
  metrics::RegisterRequests(r, request_counts_);
  r.AddGauge("aisle_http_open_connections", "client HTTP connections open now",
             [s = server_.get()] { return static_cast<double>(s->open_connections()); });
  auto by_kind = [j = jobs_.get()](bool ended) {
    return [j, ended](std::vector<Sample>& out) {
      for (const auto& [kind, c] : j->CountsByKind())
        out.push_back(Sample::Of(ended ? c.ended : c.started, {{"kind", kind}}));
    };
  };
  r.Add("aisle_jobs_started_total", "jobs (xactions) started, by kind", MetricType::kCounter,
        by_kind(false));
  r.Add("aisle_jobs_finished_total", "jobs (xactions) ended (finished, failed or aborted), by kind",
        MetricType::kCounter, by_kind(true));
  if (!target) {
    front_ = std::make_unique<api::MetricsEndpoint>(
        api_.get(), metrics_.get(), &request_counts_, self_,
        [p = s3_proxy_.get()](const api::Request& req) { return p->Matches(req); });
    return;
  }
  // Disk space per mountpath, read at scrape time.
  auto disk = [mps = store_->mountpaths()](bool used) {
    return [mps, used](std::vector<Sample>& out) {
      for (const auto& mp : mps) {
        struct statvfs st {};
        if (statvfs(mp.c_str(), &st) != 0) continue;
        uint64_t v = used ? (st.f_blocks - st.f_bfree) * st.f_frsize : st.f_bavail * st.f_frsize;
        out.push_back(Sample::Of(v, {{"mountpath", mp}}));
      }
    };
  };
  r.Add("aisle_disk_used_bytes", "bytes used on the filesystem of each mountpath",
        MetricType::kGauge, disk(true));
  r.Add("aisle_disk_available_bytes",
        "bytes available to this node on the filesystem of each mountpath", MetricType::kGauge,
        disk(false));
  auto count = [&r](std::string name, std::string help, std::function<uint64_t()> fn) {
    r.Add(std::move(name), std::move(help), MetricType::kCounter,
          [fn = std::move(fn)](std::vector<Sample>& out) { out.push_back(Sample::Of(fn())); });
  };
  count("aisle_shard_index_builds_total",
        "shard member indexes built by reading a shard (not cached in memory or a sidecar)",
        [c = shards_.get()] { return c->index_builds(); });
  count("aisle_local_reads_total", "objects handed to co-located clients as open files",
        [c = &local_read_counters_] { return c->opens.load(std::memory_order_relaxed); });
  count("aisle_local_read_errors_total", "local-read requests answered with an error",
        [c = &local_read_counters_] { return c->errors.load(std::memory_order_relaxed); });
  count("aisle_rebalance_objects_moved_total",
        "objects this target moved to their new owner in rebalances",
        [c = target_cluster_.get()] { return c ? c->objects_moved_total() : 0; });
  count("aisle_rebalance_bytes_moved_total", "bytes of the objects this target moved in rebalances",
        [c = target_cluster_.get()] { return c ? c->bytes_moved_total() : 0; });
  front_ = std::make_unique<api::MetricsEndpoint>(
      api_.get(), metrics_.get(), &request_counts_, self_,
      [s = s3_.get()](const api::Request& req) { return s->Matches(req); });
}

Status Node::BuildTarget() {
  auto start = std::chrono::steady_clock::now();
  storage::StoreOptions sopts;
  sopts.mountpaths = cfg_.mountpaths;
  sopts.max_object_size = cfg_.max_object_size;
  sopts.index_resident_bytes = cfg_.index_resident_mib << 20;
  AISLE_ASSIGN_OR_RETURN(store_, storage::Store::Open(sopts));
  const std::string& first_mp = store_->mountpaths()[0];
  for (const auto& mp : store_->mountpaths()) AISLE_RETURN_IF_ERROR(MakePrivate(mp));
  AISLE_ASSIGN_OR_RETURN(self_.id, LoadOrCreateNodeId(storage::WorkDir(first_mp), cfg_.id));
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("target {}: {} mountpath(s), {} object(s) indexed in {:.3f}s", self_.id,
               store_->mountpaths().size(), store_->ObjectCount(), load_s);
  api::ApiContext ctx;
  ctx.store = store_.get();
  ctx.node = self_;
  ctx.request_shutdown = host_.request_shutdown;
  peers_ = std::make_unique<cluster::PeerClient>(self_.id, secret_.get());
  peers_->http().SetTls(PeerTls());
  ctx.peers = peers_.get();
  ctx.jobs = jobs_.get();
  if (!cfg_.primary_url.empty()) {
    target_cluster_ = std::make_unique<cluster::TargetCluster>(
        cluster::TargetCluster::Options{ClusterSelf(self_), cfg_.primary_url, cfg_.keepalive_ms},
        store_.get(), peers_.get(), jobs_.get());
    ctx.cluster = target_cluster_.get();
  }
  api::PeerAuth::Options pa{secret_.get(), nullptr, nullptr};
  if (auto* tc = target_cluster_.get()) {
    pa.smap = [tc] { return tc->smap(); };
    pa.refresh = [tc] { (void)tc->SyncMaps(); };
  }
  peer_auth_ = std::make_unique<api::PeerAuth>(std::move(pa));
  ctx.peer_auth = peer_auth_.get();
  ctx.user_auth = user_auth_.get();
  shards_ = std::make_unique<api::ShardCache>(store_.get());
  ctx.shards = shards_.get();
  ctx.metrics = &target_metrics_;
  ctx.validate_get = cfg_.validate_get;
  // ETL programs run as children of this target, with scratch space on its first mountpath.
  AISLE_ASSIGN_OR_RETURN(auto sandbox, MakeEtlSandbox(cfg_));
  etl_ = std::make_unique<etl::EtlManager>(
      etl::EtlManager::Options{storage::EtlDir(first_mp), url_, {}, std::move(sandbox)});
  ctx.etl = etl_.get();
  if (target_cluster_) {
    target_cluster_->SetEtlMdListener([m = etl_.get()](std::shared_ptr<const cluster::EtlMd> md) {
      std::vector<etl::EtlEntry> want;
      for (const auto& [name, e] : md->etls) want.push_back({name, e.msg, e.running});
      m->Apply(want);
    });
  }
  s3_ = std::make_unique<api::s3::S3Api>(store_.get(), S3OptionsOf(cfg_), self_);
  ctx.s3 = s3_.get();
  if (cfg_.local_reads && cfg_.rate_limit_bps == 0) {
    ctx.local_reads = &local_read_counters_;
    auto started = local::LocalReadServer::Start(
        // Each held object costs the node a descriptor: keep most of the limit for HTTP.
        {self_.id, 2,
         static_cast<size_t>(std::clamp<uint64_t>(host_.open_file_limit / 4, 16, 4096))},
        [ctx](const localread::OpenRequest& req) mutable {
          return api::OpenForLocalRead(ctx, req);
        });
    if (started.ok()) {
      local_reads_ = std::move(started).value();
    } else {  // e.g. the name taken by another process: serve, just without local reads
      spdlog::warn("local reads off: {}", started.status().ToString());
      ctx.local_reads = nullptr;
    }
  }
  api_ = std::make_unique<api::TargetApi>(ctx);
  return Status::OK();
}

Status Node::BuildProxy() {
  AISLE_RETURN_IF_ERROR(storage::MakeDirs(cfg_.data_dir));
  AISLE_RETURN_IF_ERROR(MakePrivate(cfg_.data_dir));
  AISLE_ASSIGN_OR_RETURN(self_.id, LoadOrCreateNodeId(cfg_.data_dir, cfg_.id));
  peers_ = std::make_unique<cluster::PeerClient>(self_.id, secret_.get());
  peers_->http().SetTls(PeerTls());
  cluster::ProxyCluster::Options popts;
  popts.self = ClusterSelf(self_);
  popts.data_dir = cfg_.data_dir;
  popts.primary_url = cfg_.primary_url;
  popts.keepalive_ms = cfg_.keepalive_ms;
  popts.down_after_ms = cfg_.down_after_ms;
  if (!cfg_.etcd.empty()) {
    AISLE_ASSIGN_OR_RETURN(popts.etcd, etcd::ParseEndpoints(cfg_.etcd));
    popts.etcd_prefix = cfg_.etcd_prefix;
  }
  proxy_cluster_ = std::make_unique<cluster::ProxyCluster>(std::move(popts), peers_.get());
  auto proxy_api = std::make_unique<api::ProxyApi>(self_, proxy_cluster_.get());
  proxy_api->SetMetrics(&proxy_metrics_);
  peer_auth_ = std::make_unique<api::PeerAuth>(api::PeerAuth::Options{
      secret_.get(), [pc = proxy_cluster_.get()] { return pc->smap(); }, nullptr});
  proxy_api->SetPeerAuth(peer_auth_.get());
  if (user_auth_) {
    std::string admin_password;
    if (!cfg_.admin_password_file.empty()) {
      std::ifstream in(cfg_.admin_password_file);
      if (!in) return Status::InvalidArgument("cannot read " + cfg_.admin_password_file);
      std::getline(in, admin_password);
      while (!admin_password.empty() &&
             std::isspace(static_cast<unsigned char>(admin_password.back())))
        admin_password.pop_back();
    }
    AISLE_ASSIGN_OR_RETURN(
        users_, api::UserService::Open(cfg_.data_dir, user_auth_.get(), self_, admin_password));
    proxy_api->SetUserAuth(user_auth_.get(), users_.get());
  }
  api::s3::S3Options s3_opts = S3OptionsOf(cfg_);
  if (users_) {
    s3_opts.user_key =
        [u = users_.get()](const std::string& access_key) -> std::optional<api::s3::UserS3Key> {
      auto k = u->FindS3Key(access_key);
      if (!k) return std::nullopt;
      return api::s3::UserS3Key{std::move(k->secret), std::move(k->user)};
    };
  }
  s3_proxy_ =
      std::make_unique<api::s3::S3ProxyApi>(proxy_cluster_.get(), std::move(s3_opts), self_);
  proxy_api->SetS3(s3_proxy_.get(),
                   [p = s3_proxy_.get()](const api::Request& r) { return p->Matches(r); });
  api_ = std::move(proxy_api);
  return Status::OK();
}

Status Node::Start() {
  server_->Start();
  // Join after serving: the primary pushes the new map to this node right away.
  if (target_cluster_) AISLE_RETURN_IF_ERROR(target_cluster_->Start(std::chrono::seconds(60)));
  if (proxy_cluster_) AISLE_RETURN_IF_ERROR(proxy_cluster_->Start(std::chrono::seconds(60)));
  if (!cfg_.ready_file.empty()) AISLE_RETURN_IF_ERROR(WriteReadyFile(cfg_.ready_file, url_));
  std::printf("aisle-node: listening on %s\n", url_.c_str());
  std::fflush(stdout);
  spdlog::info("serving on {} ({} {}{})", url_, self_.role, self_.id,
               !cfg_.etcd.empty()         ? ", etcd " + cfg_.etcd
               : cfg_.primary_url.empty() ? (self_.role == "proxy" ? ", primary" : "")
                                          : ", joined " + cfg_.primary_url);
  return Status::OK();
}

TlsClientOptions Node::PeerTls() const {
  TlsClientOptions t;
  t.ca_file = cfg_.tls_ca_file;
  t.skip_verify = cfg_.tls_skip_verify;
  if (!cfg_.tls_client_ca_file.empty()) {  // mutual TLS: the node shows its own certificate
    t.cert_file = cfg_.tls_cert_file;
    t.key_file = cfg_.tls_key_file;
  }
  return t;
}

Status Node::ReloadTls() {
  if (!server_ || !server_->tls()) return Status::InvalidArgument("TLS is not enabled");
  return server_->ReloadTls();
}

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (target_cluster_) target_cluster_->Stop();
  if (proxy_cluster_) proxy_cluster_->Stop();
  if (server_) server_->Shutdown(std::chrono::seconds(10));
  // Jobs use the store, the clusters, the shard cache and ETL: they end before those do.
  if (jobs_) jobs_->AbortAllAndWait();
  local_reads_.reset();
  etl_.reset();  // stops ETL child processes
}

}  // namespace aisle
