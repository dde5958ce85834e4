#include "server/node_config.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/net/intra_auth.h"
#include "common/status.h"
#include "server/http/tls_server.h"

namespace aisle {
namespace {

Status LoadJson(const std::string& path, NodeConfig* c) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("config file " + path + " is not a JSON object");
  try {
    if (j.contains("role")) c->role = j["role"].get<std::string>();
    if (j.contains("host")) c->host = j["host"].get<std::string>();
    if (j.contains("port")) c->port = j["port"].get<int>();
    if (j.contains("mountpaths")) c->mountpaths = j["mountpaths"].get<std::vector<std::string>>();
    if (j.contains("id")) c->id = j["id"].get<std::string>();
    if (j.contains("io_threads")) c->io_threads = j["io_threads"].get<int>();
    if (j.contains("workers")) c->workers = j["workers"].get<int>();
    if (j.contains("head_timeout_ms")) c->head_timeout_ms = j["head_timeout_ms"].get<int>();
    if (j.contains("max_conns_per_ip")) c->max_conns_per_ip = j["max_conns_per_ip"].get<int>();
    if (j.contains("log_level")) c->log_level = j["log_level"].get<std::string>();
    if (j.contains("max_object_size")) c->max_object_size = j["max_object_size"].get<uint64_t>();
    if (j.contains("s3_keys")) {
      for (const auto& k : j["s3_keys"])
        c->s3_keys.emplace_back(k.at("access_key").get<std::string>(),
                                k.at("secret_key").get<std::string>());
    }
    if (j.contains("s3_region")) c->s3_region = j["s3_region"].get<std::string>();
    if (j.contains("s3_vhost_domain")) c->s3_vhost_domain = j["s3_vhost_domain"].get<std::string>();
    if (j.contains("primary_url")) c->primary_url = j["primary_url"].get<std::string>();
    if (j.contains("data_dir")) c->data_dir = j["data_dir"].get<std::string>();
    if (j.contains("keepalive_ms")) c->keepalive_ms = j["keepalive_ms"].get<int>();
    if (j.contains("down_after_ms")) c->down_after_ms = j["down_after_ms"].get<int>();
    if (j.contains("cluster_secret_file"))
      c->cluster_secret_file = j["cluster_secret_file"].get<std::string>();
    if (j.contains("auth")) c->auth = j["auth"].get<bool>();
    if (j.contains("admin_password_file"))
      c->admin_password_file = j["admin_password_file"].get<std::string>();
    if (j.contains("tls_cert_file")) c->tls_cert_file = j["tls_cert_file"].get<std::string>();
    if (j.contains("tls_key_file")) c->tls_key_file = j["tls_key_file"].get<std::string>();
    if (j.contains("tls_client_ca_file"))
      c->tls_client_ca_file = j["tls_client_ca_file"].get<std::string>();
    if (j.contains("tls_ca_file")) c->tls_ca_file = j["tls_ca_file"].get<std::string>();
    if (j.contains("tls_skip_verify")) c->tls_skip_verify = j["tls_skip_verify"].get<bool>();
    if (j.contains("local_reads")) c->local_reads = j["local_reads"].get<bool>();
    if (j.contains("validate_get")) c->validate_get = j["validate_get"].get<bool>();
    if (j.contains("etl_user")) c->etl_user = j["etl_user"].get<std::string>();
    if (j.contains("etl_network")) c->etl_network = j["etl_network"].get<std::string>();
    if (j.contains("etl_memory_limit")) c->etl_memory_limit = j["etl_memory_limit"].get<uint64_t>();
    if (j.contains("etl_max_procs")) c->etl_max_procs = j["etl_max_procs"].get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
  return Status::OK();
}

}  // namespace

constexpr const char* kAbout = "aisle-node: an Aisle storage node (AIStore-compatible REST API)";
constexpr const char* kEnv =
    "Environment: AISLE_S3_ACCESS_KEY + AISLE_S3_SECRET_KEY (when no --s3-access-key), "
    "AISLE_NODE_ID or AIS_DAEMON_ID (override --id).";

std::variant<NodeConfig, ExitNow> ParseNodeConfig(int argc, char** argv) {
  NodeConfig c;
  std::string config_file;
  // Pass 1 reads only --config, so the flags (pass 2) override the file's values. Its help
  // flag is off: --help belongs to pass 2, which knows every flag.
  {
    CLI::App pre{kAbout};
    pre.set_help_flag();
    pre.allow_extras();
    pre.add_option("--config", config_file);
    try {
      pre.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return ExitNow{pre.exit(e) == 0 ? 0 : 2, ""};  // usage errors exit 2, as the CLI
    }
  }
  if (!config_file.empty()) {
    if (Status st = LoadJson(config_file, &c); !st.ok()) return ExitNow{2, st.message()};
  }
  CLI::App app{kAbout};
  app.footer(kEnv);
  app.add_option("--config", config_file, "JSON config file (same keys as the flags)");
  app.add_option("--role", c.role, "target or proxy")->check(CLI::IsMember({"target", "proxy"}));
  app.add_option("--host", c.host, "listen address");
  app.add_option("--port", c.port, "listen port (0 = ephemeral)")->check(CLI::Range(0, 65535));
  app.add_option("--mountpath", c.mountpaths, "data directory (repeat for several disks)");
  app.add_option("--id", c.id, "node ID (default: generated once and kept)");
  app.add_option("--io-threads", c.io_threads, "event-loop threads (0 = one per core)");
  app.add_option("--workers", c.workers, "request worker threads")->check(CLI::PositiveNumber);
  app.add_option("--head-timeout-ms", c.head_timeout_ms,
                 "close a connection whose request head is not complete in this many ms (408)")
      ->check(CLI::Range(100, 3600000));
  app.add_option("--max-conns-per-ip", c.max_conns_per_ip,
                 "open connections allowed per client address; beyond: 503 (0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error");
  app.add_option("--ready-file", c.ready_file, "write the URL here once serving");
  app.add_option("--max-object-size", c.max_object_size, "largest object in bytes (0 = no limit)");
  std::string s3_access, s3_secret;
  app.add_option("--s3-access-key", s3_access, "S3 SigV4 access key (none: anonymous S3)");
  app.add_option("--s3-secret-key", s3_secret, "S3 SigV4 secret key for --s3-access-key");
  app.add_option("--s3-region", c.s3_region, "S3 region reported to clients");
  app.add_option("--s3-vhost-domain", c.s3_vhost_domain,
                 "S3 virtual-host style: Host BUCKET.<domain> addresses BUCKET");
  app.add_option("--rate-limit", c.rate_limit_bps, "cap on served object bytes/s (0 = none)");
  app.add_option("--primary", c.primary_url, "primary proxy URL to join (omit on the primary)");
  app.add_option("--data-dir", c.data_dir, "proxy metadata directory");
  app.add_option("--keepalive-ms", c.keepalive_ms, "keepalive interval in milliseconds")
      ->check(CLI::Range(50, 600000));
  app.add_option("--down-after-ms", c.down_after_ms,
                 "mark a node down after this many silent milliseconds")
      ->check(CLI::Range(100, 3600000));
  app.add_option("--cluster-secret-file", c.cluster_secret_file,
                 "file with the cluster secret (>= 32 bytes) that signs node-to-node requests");
  app.add_flag("--auth", c.auth,
               "require user tokens (Authorization: Bearer) on the native API; needs "
               "--cluster-secret-file");
  app.add_option("--admin-password-file", c.admin_password_file,
                 "proxy: create user admin with this password at first start (--auth)");
  app.add_option("--tls-cert", c.tls_cert_file,
                 "PEM certificate chain: serve https only on the port (with --tls-key; SIGHUP "
                 "reloads)");
  app.add_option("--tls-key", c.tls_key_file, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", c.tls_client_ca_file,
                 "mutual TLS: clients (and nodes) must show a certificate this CA signed");
  app.add_option("--tls-ca", c.tls_ca_file,
                 "PEM CA file that verifies other nodes' certificates (default: system CAs)");
  app.add_flag("--tls-skip-verify", c.tls_skip_verify,
               "do not verify other nodes' certificates (testing only)");
  bool no_local_reads = false;
  app.add_flag("--no-local-reads", no_local_reads,
               "do not hand object files to clients on this host (they read over HTTP)");
  app.add_flag("--validate-get", c.validate_get,
               "verify the checksum of every whole-object GET (all buckets)");
  app.add_option("--etl-user", c.etl_user,
                 "user (name or UID[:GID]) ETL programs run as (default: aisle-etl if it "
                 "exists, else nobody)");
  app.add_option("--etl-network", c.etl_network,
                 "ETL programs' network: host, or none (a private namespace; io:// and Python "
                 "code only)")
      ->check(CLI::IsMember({"host", "none"}));
  app.add_option("--etl-memory-limit", c.etl_memory_limit,
                 "address space of each ETL process, default and maximum (e.g. 2GiB)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--etl-max-procs", c.etl_max_procs,
                 "processes and threads of the ETL user (RLIMIT_NPROC)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help (0) or a usage error (2, as the CLI's), printed by CLI11.
    return ExitNow{app.exit(e) == 0 ? 0 : 2, ""};
  }
  if (const char* ak = std::getenv("AISLE_S3_ACCESS_KEY"); ak && *ak && s3_access.empty()) {
    const char* sk = std::getenv("AISLE_S3_SECRET_KEY");
    s3_access = ak;
    s3_secret = sk ? sk : "";
  }
  if (s3_access.empty() != s3_secret.empty())
    return ExitNow{2, "--s3-access-key and --s3-secret-key go together"};
  if (no_local_reads) c.local_reads = false;
  if (!s3_access.empty()) c.s3_keys.emplace_back(s3_access, s3_secret);
  for (const char* env : {"AISLE_NODE_ID", "AIS_DAEMON_ID"}) {
    if (const char* v = std::getenv(env); v && *v) c.id = v;
  }
  if (c.role == "target" && c.mountpaths.empty())
    return ExitNow{2, "a target needs at least one --mountpath DIR"};
  if (c.role == "proxy" && c.data_dir.empty())
    return ExitNow{2, "a proxy needs --data-dir DIR (cluster metadata)"};
  while (!c.primary_url.empty() && c.primary_url.back() == '/') c.primary_url.pop_back();
  if (!c.cluster_secret_file.empty()) {
    auto secret = ClusterSecret::Load(c.cluster_secret_file);
    if (!secret.ok()) return ExitNow{2, "--cluster-secret-file: " + secret.status().message()};
  }
  if (!c.tls_cert_file.empty() || !c.tls_key_file.empty() || !c.tls_client_ca_file.empty()) {
    Status st =
        http::CheckTlsFiles(http::TlsFiles{c.tls_cert_file, c.tls_key_file, c.tls_client_ca_file});
    if (!st.ok()) return ExitNow{2, st.message()};
  }
  if (c.auth && c.cluster_secret_file.empty())
    return ExitNow{2, "--auth needs --cluster-secret-file (tokens are signed with the secret)"};
  if (c.auth) c.local_reads = false;  // the local-read socket would bypass the token check
  return c;
}

}  // namespace aisle
