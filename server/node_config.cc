#include "server/node_config.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/net/intra_auth.h"
#include "common/status.h"

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
    if (j.contains("advertise_host")) c->advertise_host = j["advertise_host"].get<std::string>();
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

bool IsIpAddress(const std::string& s) {
  in6_addr a6{};
  return ::inet_pton(AF_INET, s.c_str(), &a6) == 1 || ::inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// "http://h:p" (or https) -> "h:p"; anything else unchanged.
std::string Authority(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    if (url.rfind(scheme, 0) == 0) return url.substr(std::string(scheme).size());
  }
  return url;
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
  app.add_option("--advertise-host", c.advertise_host,
                 "address peers and clients reach this node at (default: --host; needed when "
                 "--host is 0.0.0.0 or ::)");
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
  app.add_option("--primary", c.primary_url,
                 "primary proxy URL to join (omit on the primary, or give its own URL)");
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
  app.add_flag("--check-config", c.check_config,
               "validate the flags, --config file and environment, print the effective "
               "configuration as JSON and exit (0; 2 on an error)");
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
  if (c.advertise_host.empty() && (c.host == "0.0.0.0" || c.host == "::"))
    return ExitNow{2, "--host " + c.host + " needs --advertise-host (the address peers reach)"};
  if (c.role == "target" && c.mountpaths.empty())
    return ExitNow{2, "a target needs at least one --mountpath DIR"};
  if (c.role == "proxy" && c.data_dir.empty())
    return ExitNow{2, "a proxy needs --data-dir DIR (cluster metadata)"};
  while (!c.primary_url.empty() && c.primary_url.back() == '/') c.primary_url.pop_back();
  if (c.role != "target" && c.role != "proxy")  // the flag is checked; the file's value too
    return ExitNow{2, "role " + c.role + ": target or proxy"};
  if (!IsIpAddress(c.host))
    return ExitNow{2, "--host " + c.host + ": not an IP address (use --advertise-host for names)"};
  if (c.advertise_host.find_first_of("/: \t") != std::string::npos)
    return ExitNow{2, "--advertise-host " + c.advertise_host + ": a host name or IPv4 address"};
  if (c.advertise_host.empty()) c.advertise_host = c.host;
  if (c.role == "proxy" &&
      Authority(c.primary_url) == c.advertise_host + ":" + std::to_string(c.port))
    c.primary_url.clear();  // this proxy is the primary
  if (!c.cluster_secret_file.empty()) {
    auto secret = ClusterSecret::Load(c.cluster_secret_file);
    if (!secret.ok()) return ExitNow{2, "--cluster-secret-file: " + secret.status().message()};
  }
  if (c.auth && c.cluster_secret_file.empty())
    return ExitNow{2, "--auth needs --cluster-secret-file (tokens are signed with the secret)"};
  if (c.auth) c.local_reads = false;  // the local-read socket would bypass the token check
  return c;
}

std::string EffectiveConfigJson(const NodeConfig& c) {
  nlohmann::json j = {{"role", c.role},
                      {"host", c.host},
                      {"advertise_host", c.advertise_host},
                      {"port", c.port},
                      {"id", c.id},
                      {"mountpaths", c.mountpaths},
                      {"primary", c.role == "proxy" && c.primary_url.empty()},
                      {"primary_url", c.primary_url},
                      {"data_dir", c.data_dir},
                      {"cluster_secret_file", c.cluster_secret_file},
                      {"auth", c.auth},
                      {"admin_password_file", c.admin_password_file},
                      {"local_reads", c.local_reads},
                      {"s3_keys", c.s3_keys.size()},
                      {"log_level", c.log_level}};
  return j.dump(2);
}

}  // namespace aisle
