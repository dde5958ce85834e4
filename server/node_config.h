// Node configuration: embedded defaults, then a JSON file (--config), then flags, then env.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace aisle {

struct NodeConfig {
  std::string role = "target";     // target | proxy
  std::string host = "127.0.0.1";  // listen address
  // The address peers and clients reach this node at (its cluster-map entry, redirects);
  // empty = `host`. Needed when `host` is a wildcard (0.0.0.0, ::).
  std::string advertise_host;
  int port = 8080;                      // 0 = ephemeral (AIStore's default port)
  std::vector<std::string> mountpaths;  // required for targets
  std::string id;                       // generated and persisted when empty
  int io_threads = 0;                   // 0 = one per core
  int workers = 64;                     // concurrent requests
  int head_timeout_ms = 10000;          // a request head must arrive whole within this
  int max_conns_per_ip = 256;           // open connections per client address (0 = no limit)
  std::string log_level = "info";
  std::string log_format = "text";   // text or json (one object per line; access log lines)
  std::string ready_file;            // written with the URL once serving
  uint64_t max_object_size = 0;      // 0 = unlimited
  uint64_t index_resident_mib = 64;  // mapped object index kept in RSS per mountpath (0 = all)
  // S3 API: SigV4 access/secret key pairs; none = anonymous (any credentials accepted).
  // Flags --s3-access-key/--s3-secret-key add one pair; JSON "s3_keys":
  // [{"access_key":..., "secret_key":...}] any number; env AISLE_S3_ACCESS_KEY/SECRET_KEY.
  std::vector<std::pair<std::string, std::string>> s3_keys;
  std::string s3_region = "us-east-1";  // reported by GetBucketLocation
  std::string s3_vhost_domain;          // BUCKET.<domain> Host = virtual-host style
  // Cluster: nodes other than the primary proxy join the primary at this URL. A proxy
  // without it is the primary. A target without it runs standalone.
  std::string primary_url;
  std::string data_dir;  // proxy metadata (smap.json, bmd.json)
  // HA control plane (proxies; docs/DEPLOY.md "High availability"): etcd member URLs
  // ("URL[,URL...]"); the cluster maps live in etcd under etcd_prefix and the primary is
  // elected. Empty: embedded mode (the maps in data_dir, a fixed primary).
  std::string etcd;
  std::string etcd_prefix = "/aisle/default";
  int keepalive_ms = 1000;   // keepalive interval
  int down_after_ms = 5000;  // a node silent this long is marked down
  // Node-to-node requests are signed and verified with the secret in this file (>= 32 bytes,
  // docs/SECURITY.md). Empty: they are unauthenticated (a warning at start).
  std::string cluster_secret_file;
  // User authentication of the native API (--auth, JSON "auth"; docs/SECURITY.md): bearer
  // tokens signed with the cluster secret, which is then required. Turns local reads off.
  bool auth = false;
  // Proxy: the first start creates user "admin" with the password in this file.
  std::string admin_password_file;
  // TLS (docs/SECURITY.md "TLS"): with a certificate and key the port speaks https only;
  // SIGHUP reloads both. tls_client_ca_file: clients (nodes too) must show a certificate it
  // signed. tls_ca_file verifies other nodes' certificates (empty: the system's CAs);
  // tls_skip_verify turns that check off (testing only).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string tls_ca_file;
  bool tls_skip_verify = false;
  uint64_t rate_limit_bps = 0;  // cap on served object bytes/s (benchmarks)
  // Targets hand co-located clients (aisle-fs on this host) open object files to pread
  // (common/local_read_protocol.h). Off with a rate limit, which they would bypass.
  bool local_reads = true;
  // Every bucket's whole-object GETs verify checksums (as checksum.validate_warm_get does per
  // bucket; docs/INTERNALS.md "Integrity").
  bool validate_get = false;
  // ETL sandbox (docs/SECURITY.md): the user programs run as ("" = aisle-etl if it exists,
  // else nobody), their network (host | none), RLIMIT_AS default and cap, RLIMIT_NPROC.
  std::string etl_user;
  std::string etl_network = "host";
  uint64_t etl_memory_limit = 2ull << 30;
  uint64_t etl_max_procs = 256;
  // --check-config: parse and validate flags, file and environment, print the effective
  // configuration (EffectiveConfigJson) and exit without starting (exit 0, or 2 on an error).
  bool check_config = false;
};

// The process ends before a node starts: --help (code 0, help printed), a bad flag (code 2,
// CLI11's message printed) or a bad configuration (code 2, `error` says why; not printed yet).
struct ExitNow {
  int code = 0;
  std::string error;  // empty: nothing more to print
};

// Parses argv (and --config, the environment) into a configuration, or says how to exit.
// A proxy whose --primary is its own advertised URL is the primary (so every replica of a
// Kubernetes StatefulSet can carry the same flags): primary_url comes back empty.
std::variant<NodeConfig, ExitNow> ParseNodeConfig(int argc, char** argv);

// The configuration a node would run with, as JSON (for --check-config); secrets and keys
// are left out, files holding them are named.
std::string EffectiveConfigJson(const NodeConfig& c);

}  // namespace aisle
