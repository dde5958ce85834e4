#include "server/node_config.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "common/net/etcd_client.h"
#include "common/net/intra_auth.h"
#include "common/status.h"
#include "server/http/tls_server.h"

namespace aisle {
namespace {

// One JSON key of the config file: checks the value's type and stores it.
using Json = nlohmann::json;
using KeySetter = std::function<Status(const Json&, NodeConfig*)>;

template <typename T>
const char* TypeName() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, std::vector<std::string>>) return "an array of strings";
  if constexpr (std::is_unsigned_v<T>) return "a non-negative integer";
  return "an integer";
}

template <typename T>
bool HasType(const Json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_string()) return false;
    return true;
  }
  if constexpr (std::is_unsigned_v<T>) return v.is_number_unsigned();
  if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(INT32_MAX);
    return v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
  }
  return false;
}

template <typename T>
KeySetter Field(T NodeConfig::*member) {
  return [member](const Json& v, NodeConfig* c) {
    if (!HasType<T>(v)) {
      // A number of the wrong kind (1.5, -1, 2^40) says its value; anything else its type.
      std::string got = v.is_number() ? v.dump() : std::string(v.type_name());
      return Status::InvalidArgument(std::string("must be ") + TypeName<T>() + ", not " + got);
    }
    c->*member = v.get<T>();
    return Status::OK();
  };
}

Status SetS3Keys(const Json& v, NodeConfig* c) {
  if (!v.is_array()) return Status::InvalidArgument("must be an array of objects");
  for (const auto& k : v) {
    if (!k.is_object() || !k.contains("access_key") || !k.contains("secret_key") ||
        !k["access_key"].is_string() || !k["secret_key"].is_string() || k.size() != 2)
      return Status::InvalidArgument(
          "each entry must be {\"access_key\": STRING, \"secret_key\": STRING}");
    c->s3_keys.emplace_back(k["access_key"].get<std::string>(), k["secret_key"].get<std::string>());
  }
  return Status::OK();
}

// The config file's keys: the flags' long names with '_' for '-' (docs/DEPLOY.md).
const std::map<std::string, KeySetter>& Keys() {
  static const std::map<std::string, KeySetter> keys = {
      {"role", Field(&NodeConfig::role)},
      {"host", Field(&NodeConfig::host)},
      {"advertise_host", Field(&NodeConfig::advertise_host)},
      {"port", Field(&NodeConfig::port)},
      {"mountpaths", Field(&NodeConfig::mountpaths)},
      {"id", Field(&NodeConfig::id)},
      {"io_threads", Field(&NodeConfig::io_threads)},
      {"workers", Field(&NodeConfig::workers)},
      {"head_timeout_ms", Field(&NodeConfig::head_timeout_ms)},
      {"max_conns_per_ip", Field(&NodeConfig::max_conns_per_ip)},
      {"log_level", Field(&NodeConfig::log_level)},
      {"log_format", Field(&NodeConfig::log_format)},
      {"ready_file", Field(&NodeConfig::ready_file)},
      {"max_object_size", Field(&NodeConfig::max_object_size)},
      {"index_resident_mib", Field(&NodeConfig::index_resident_mib)},
      {"s3_keys", SetS3Keys},
      {"s3_region", Field(&NodeConfig::s3_region)},
      {"s3_vhost_domain", Field(&NodeConfig::s3_vhost_domain)},
      {"rate_limit", Field(&NodeConfig::rate_limit_bps)},
      {"primary_url", Field(&NodeConfig::primary_url)},
      {"data_dir", Field(&NodeConfig::data_dir)},
      {"etcd", Field(&NodeConfig::etcd)},
      {"etcd_prefix", Field(&NodeConfig::etcd_prefix)},
      {"keepalive_ms", Field(&NodeConfig::keepalive_ms)},
      {"down_after_ms", Field(&NodeConfig::down_after_ms)},
      {"cluster_secret_file", Field(&NodeConfig::cluster_secret_file)},
      {"auth", Field(&NodeConfig::auth)},
      {"admin_password_file", Field(&NodeConfig::admin_password_file)},
      {"tls_cert", Field(&NodeConfig::tls_cert_file)},
      {"tls_key", Field(&NodeConfig::tls_key_file)},
      {"tls_client_ca", Field(&NodeConfig::tls_client_ca_file)},
      {"tls_ca", Field(&NodeConfig::tls_ca_file)},
      {"tls_skip_verify", Field(&NodeConfig::tls_skip_verify)},
      {"local_reads", Field(&NodeConfig::local_reads)},
      {"validate_get", Field(&NodeConfig::validate_get)},
      {"etl_user", Field(&NodeConfig::etl_user)},
      {"etl_network", Field(&NodeConfig::etl_network)},
      {"etl_memory_limit", Field(&NodeConfig::etl_memory_limit)},
      {"etl_max_procs", Field(&NodeConfig::etl_max_procs)},
  };
  return keys;
}

// Errors name the file and, for a bad value, the key; an unknown key (a typo) is an error too.
Status LoadJson(const std::string& path, NodeConfig* c) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Json j;
  try {
    j = Json::parse(ss.str());
  } catch (const Json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at line L, column C: ..."
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::InvalidArgument("config file " + path + ": invalid JSON: " + what);
  }
  if (!j.is_object())
    return Status::InvalidArgument("config file " + path + ": must be a JSON object, not " +
                                   j.type_name());
  for (const auto& [key, value] : j.items()) {
    auto it = Keys().find(key);
    if (it == Keys().end())
      return Status::InvalidArgument("config file " + path + ": unknown key \"" + key + "\"");
    if (Status st = it->second(value, c); !st.ok())
      return Status::InvalidArgument("config file " + path + ": key \"" + key +
                                     "\": " + st.message());
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
  app.add_option("--log-format", c.log_format,
                 "text, or json: one JSON object per line, with request IDs and an access log")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--ready-file", c.ready_file, "write the URL here once serving");
  app.add_option("--max-object-size", c.max_object_size, "largest object in bytes (0 = no limit)");
  app.add_option("--index-resident-mib", c.index_resident_mib,
                 "MiB of each mountpath's mapped object index kept in the node's RSS after long "
                 "walks; beyond, the pages go back to the page cache (0 = keep all)");
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
  app.add_option("--etcd", c.etcd,
                 "proxy: etcd member URLs (URL[,URL...]): cluster metadata in etcd, the primary "
                 "elected (HA)");
  app.add_option("--etcd-prefix", c.etcd_prefix,
                 "etcd key prefix of this cluster (default /aisle/default)");
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
  if (c.log_format != "text" && c.log_format != "json")  // the file's value too
    return ExitNow{2, "log_format " + c.log_format + ": text or json"};
  if (!IsIpAddress(c.host))
    return ExitNow{2, "--host " + c.host + ": not an IP address (use --advertise-host for names)"};
  if (c.advertise_host.find_first_of("/: \t") != std::string::npos)
    return ExitNow{2, "--advertise-host " + c.advertise_host + ": a host name or IPv4 address"};
  if (c.advertise_host.empty()) c.advertise_host = c.host;
  if (!c.etcd.empty()) {
    if (c.role != "proxy") return ExitNow{2, "--etcd is a proxy's flag (targets join a proxy)"};
    auto urls = etcd::ParseEndpoints(c.etcd);
    if (!urls.ok()) return ExitNow{2, "--etcd: " + urls.status().message()};
    while (c.etcd_prefix.size() > 1 && c.etcd_prefix.back() == '/') c.etcd_prefix.pop_back();
    if (c.etcd_prefix.empty() || c.etcd_prefix[0] != '/')
      return ExitNow{2, "--etcd-prefix " + c.etcd_prefix + ": must start with '/'"};
    // The primary is elected: --primary only says where to join before an election is seen.
  }
  if (c.role == "proxy" &&
      Authority(c.primary_url) == c.advertise_host + ":" + std::to_string(c.port))
    c.primary_url.clear();  // this proxy is the primary
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
                      {"etcd", c.etcd},
                      {"etcd_prefix", c.etcd_prefix},
                      {"cluster_secret_file", c.cluster_secret_file},
                      {"auth", c.auth},
                      {"admin_password_file", c.admin_password_file},
                      {"local_reads", c.local_reads},
                      {"tls_cert", c.tls_cert_file},
                      {"tls_client_ca", c.tls_client_ca_file},
                      {"tls_ca", c.tls_ca_file},
                      {"s3_keys", c.s3_keys.size()},
                      {"log_level", c.log_level},
                      {"log_format", c.log_format}};
  return j.dump(2);
}

}  // namespace aisle
