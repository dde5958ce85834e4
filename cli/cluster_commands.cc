// aisle up | down: a local cluster in one command; aisle cluster show | remove.
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/spawn.h"
#include "cli/tls_certs.h"
#include "common/clock.h"
#include "common/net/http_client.h"
#include "common/net/intra_auth.h"

namespace aisle::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

std::string DefaultDir() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/share/aisle/cluster";
}

// aisle-node next to this binary (installed), in the build tree, or on PATH.
std::string FindNodeBinary() {
  if (const char* env = std::getenv("AISLE_NODE_BIN"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    fs::path dir = fs::path(self).parent_path();
    for (const fs::path& p : {dir / "aisle-node", dir / ".." / "server" / "aisle-node"}) {
      if (::access(p.c_str(), X_OK) == 0) return fs::weakly_canonical(p).string();
    }
  }
  return "aisle-node";
}

bool PortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

int AnyFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// `program`: what the process's command line names (aisle-node, or etcd for the members
// `aisle up --etcd` starts), so a recycled pid is not taken for ours.
bool Alive(pid_t pid, const std::string& program = "aisle-node") {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string s((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  return s.find(program) != std::string::npos;  // not a recycled pid
}

bool Alive(const json& node) {
  return Alive(node.value("pid", 0), node.value("program", "aisle-node"));
}

Result<std::string> WaitReady(const std::string& ready_file, pid_t pid, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(ready_file);
    std::string url;
    if (f && std::getline(f, url) && !url.empty()) return url;
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return Status::Unavailable("node exited during start-up");
    std::this_thread::sleep_for(milliseconds(50));
  }
  return Status::Timeout("node not ready within " + std::to_string(timeout.count() / 1000) + " s");
}

// Over the proxy failover client (cluster URLs) or a plain one (etcd's /health).
template <class Client>
Result<json> GetJson(Client& http, const std::string& url) {
  HttpRequest req;
  req.url = url;
  req.max_retries = 1;
  req.total_timeout = milliseconds(10000);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, http.Do(req));
  if (resp.status != 200) return StatusFromHttpError(resp, "GET");
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded()) return Status::Unavailable("malformed JSON from " + url);
  return j;
}

std::string LastLines(const std::string& path, int n) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0; i < lines.size();
       ++i)
    out += "  " + lines[i] + "\n";
  return out;
}

// A file of `n` random bytes as hex (mode 0600), created once and kept.
Result<std::string> WriteRandomHexFile(const std::string& path, int n) {
  std::random_device rd;
  std::string hex;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < n; ++i) {
    unsigned b = rd() & 0xff;
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  hex += '\n';
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  ok = ::fchmod(fd, 0600) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::FromErrno(errno, "write " + path);
  return path;
}

// The cluster secret of the nodes `aisle up` starts: kept across restarts of the same dir,
// created once (32 random bytes as hex, mode 0600).
Result<std::string> EnsureSecretFile(const std::string& dir) {
  std::string path = dir + "/cluster.secret";
  if (ClusterSecret::Load(path).ok()) return path;
  return WriteRandomHexFile(path, 32);
}

// `aisle up --auth`: the password of user admin, created at the proxy's first start.
Result<std::string> EnsureAdminPasswordFile(const std::string& dir) {
  std::string path = dir + "/admin.password";
  if (fs::exists(path)) return path;
  return WriteRandomHexFile(path, 16);
}

struct UpArgs {
  int targets = 3;
  int proxies = 1;
  std::string dir = DefaultDir();
  int port = 0;  // 0: 8080 when free, else any free port
  int keepalive_ms = 1000;
  bool auth = false;  // user tokens required (docs/SECURITY.md)
  bool tls = false;   // https with a generated CA (docs/SECURITY.md "TLS")
  bool etcd = false;  // a local 3-member etcd; proxies elect the primary (docs/DEPLOY.md "HA")
};

// Starts a 3-member etcd under DIR/etcd (ports kept in DIR/etcd/ports.json so a restart finds
// its members again), adds the members to `nodes` and waits until they are healthy. Returns
// the client URLs "URL,URL,URL".
Result<std::string> StartLocalEtcd(HttpClient& http, const std::string& dir, json& nodes) {
  std::string edir = dir + "/etcd";
  fs::create_directories(edir);
  json ports;
  {
    std::ifstream in(edir + "/ports.json");
    if (in) ports = json::parse(in, nullptr, false);
  }
  bool fresh = !ports.is_array() || ports.size() != 3;
  if (fresh) {
    ports = json::array();
    for (int i = 0; i < 3; ++i) ports.push_back({AnyFreePort(), AnyFreePort()});
    std::ofstream(edir + "/ports.json") << ports.dump();
  }
  std::string initial, urls;
  for (int i = 0; i < 3; ++i) {
    initial += (i ? "," : "") + ("e" + std::to_string(i + 1)) +
               "=http://127.0.0.1:" + std::to_string(ports[i][1].get<int>());
    urls += (i ? "," : "") + ("http://127.0.0.1:" + std::to_string(ports[i][0].get<int>()));
  }
  std::string bin = ::access("/usr/bin/etcd", X_OK) == 0 ? "/usr/bin/etcd" : "etcd";
  for (int i = 0; i < 3; ++i) {
    std::string name = "e" + std::to_string(i + 1);
    std::string client = "http://127.0.0.1:" + std::to_string(ports[i][0].get<int>());
    std::string peer = "http://127.0.0.1:" + std::to_string(ports[i][1].get<int>());
    std::vector<std::string> args = {bin,
                                     "--name=" + name,
                                     "--data-dir=" + edir + "/" + name,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=" + initial,
                                     "--initial-cluster-token=aisle-local"};
    AISLE_ASSIGN_OR_RETURN(pid_t pid,
                           SpawnLogged(args, edir + "/" + name + ".log", {.new_session = true}));
    nodes.push_back({{"name", name}, {"pid", pid}, {"program", "etcd"}});
  }
  auto deadline = std::chrono::steady_clock::now() + milliseconds(30000);
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = GetJson(http, urls.substr(0, urls.find(',')) + "/health");
    if (h.ok() && h->value("health", "") == "true") return urls;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return Status::Timeout("etcd did not become healthy within 30 s (logs in " + edir + ")");
}

int Down(const std::string& dir, bool quiet);

int Up(CliContext& ctx, const UpArgs& a) {
  if (a.targets < 1 || a.targets > 64) return UsageError("--targets must be 1..64");
  if (a.proxies < 1 || a.proxies > 16) return UsageError("--proxies must be 1..16");
  std::error_code ec;
  fs::create_directories(a.dir, ec);
  if (ec) return Fail("cannot create " + a.dir + ": " + ec.message());
  std::string state_file = a.dir + "/cluster.json";
  if (fs::exists(state_file)) {
    std::ifstream in(state_file);
    json st = json::parse(in, nullptr, false);
    bool all_alive = !st.is_discarded() && st.contains("nodes");
    if (all_alive) {
      for (const auto& n : st["nodes"]) all_alive &= Alive(n);
    }
    if (all_alive) {
      std::printf("Aisle cluster already running: %s\n", st.value("endpoint", "").c_str());
      return kExitOk;
    }
    Down(a.dir, true);  // clean up a half-dead cluster before starting again
  }
  auto secret_file = EnsureSecretFile(a.dir);
  if (!secret_file.ok()) return Fail(secret_file.status());
  std::string admin_file;
  if (a.auth) {
    auto f = EnsureAdminPasswordFile(a.dir);
    if (!f.ok()) return Fail(f.status());
    admin_file = *f;
  }
  LocalTlsFiles tls;
  if (a.tls) {
    auto t = EnsureLocalTls(a.dir);
    if (!t.ok()) return Fail(t.status());
    tls = *t;
    TlsClientOptions client;  // this command checks the nodes it starts
    client.ca_file = tls.ca_cert;
    ctx.http->SetTls(client);
  }
  int port = a.port;
  if (port == 0) port = PortFree(8080) ? 8080 : 0;
  std::string bin = FindNodeBinary();
  json nodes = json::array();
  auto fail = [&](const std::string& what, const std::string& log) {
    for (const auto& n : nodes) ::kill(n.value("pid", 0), SIGTERM);
    return Fail(what + "\n" + LastLines(log, 10));
  };
  std::vector<std::string> etcd_args;
  if (a.etcd) {
    auto urls = StartLocalEtcd(*ctx.http, a.dir, nodes);
    if (!urls.ok()) return fail(urls.status().message(), a.dir + "/etcd/e1.log");
    etcd_args = {"--etcd", *urls};
  }
  auto start = [&](const std::string& name, std::vector<std::string> args) -> Result<std::string> {
    std::string ndir = a.dir + "/" + name;
    fs::create_directories(ndir);
    std::string ready = ndir + "/ready";
    fs::remove(ready);
    args.insert(args.begin(), bin);
    args.insert(args.end(),
                {"--ready-file", ready, "--keepalive-ms", std::to_string(a.keepalive_ms),
                 "--cluster-secret-file", *secret_file});
    if (a.auth) args.push_back("--auth");
    if (a.tls)
      args.insert(args.end(),
                  {"--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-ca", tls.ca_cert});
    AISLE_ASSIGN_OR_RETURN(pid_t pid,
                           SpawnLogged(args, a.dir + "/" + name + ".log", {.new_session = true}));
    nodes.push_back({{"name", name}, {"pid", pid}});
    return WaitReady(ready, pid, milliseconds(30000));
  };
  std::vector<std::string> p1 = {"--role",     "proxy",      "--port", std::to_string(port),
                                 "--data-dir", a.dir + "/p1"};
  if (a.auth) p1.insert(p1.end(), {"--admin-password-file", admin_file});
  p1.insert(p1.end(), etcd_args.begin(), etcd_args.end());
  auto primary = start("p1", p1);
  if (!primary.ok())
    return fail("primary proxy failed: " + primary.status().message(), a.dir + "/p1.log");
  if (a.auth) {  // the readiness check below needs a token
    auto token = Login(*ctx.cluster, *primary, "admin", ReadFirstLine(admin_file));
    if (!token.ok())
      return fail("admin login failed: " + token.status().message(), a.dir + "/p1.log");
    ctx.http->SetDefaultHeaders({{"Authorization", "Bearer " + *token}});
  }
  for (int i = 1; i <= a.targets; ++i) {
    std::string name = "t" + std::to_string(i);
    auto t = start(name, {"--role", "target", "--port", "0", "--mountpath",
                          a.dir + "/" + name + "/mp", "--primary", *primary});
    if (!t.ok())
      return fail("target " + name + " failed: " + t.status().message(),
                  a.dir + "/" + name + ".log");
  }
  for (int i = 2; i <= a.proxies; ++i) {
    std::string name = "p" + std::to_string(i);
    std::vector<std::string> args = {"--role",           "proxy",     "--port", "0", "--data-dir",
                                     a.dir + "/" + name, "--primary", *primary};
    args.insert(args.end(), etcd_args.begin(), etcd_args.end());
    auto p = start(name, args);
    if (!p.ok())
      return fail("proxy " + name + " failed: " + p.status().message(),
                  a.dir + "/" + name + ".log");
  }
  // Ready when the map holds every node online.
  auto deadline = std::chrono::steady_clock::now() + milliseconds(30000);
  for (;;) {
    auto smap = GetJson(*ctx.cluster, *primary + "/v1/daemon?what=smap");
    int online = 0;
    if (smap.ok()) {
      for (auto it = (*smap)["tmap"].begin(); it != (*smap)["tmap"].end(); ++it)
        online += it.value().value("aisle_state", "online") == "online";
    }
    if (online >= a.targets) break;
    if (std::chrono::steady_clock::now() > deadline)
      return fail("cluster did not become ready", a.dir + "/p1.log");
    std::this_thread::sleep_for(milliseconds(100));
  }
  json st = {
      {"endpoint", *primary}, {"dir", a.dir}, {"secret_file", *secret_file}, {"nodes", nodes}};
  if (a.etcd) st["etcd"] = etcd_args[1];
  if (a.auth) st["admin_password_file"] = admin_file;
  if (a.tls) st["ca_file"] = tls.ca_cert;
  std::ofstream(state_file) << st.dump(2);
  if (ctx.json) {
    PrintJson(st);
  } else {
    std::printf("Aisle cluster is up: %d proxy(ies), %d target(s), data in %s\n", a.proxies,
                a.targets, a.dir.c_str());
    std::printf("endpoint: %s\n", primary->c_str());
    if (a.etcd)
      std::printf("etcd: %s (the primary is elected; any proxy takes requests)\n",
                  etcd_args[1].c_str());
    if (*primary != "http://127.0.0.1:8080")
      std::printf("export AIS_ENDPOINT=%s\n", primary->c_str());
    if (a.tls)
      std::printf("TLS is on: the CA is %s\nexport AIS_CLIENT_CA=%s\n", tls.ca_cert.c_str(),
                  tls.ca_cert.c_str());
    std::printf(
        "cluster secret: %s (for `aisle cluster remove`: export "
        "AISLE_CLUSTER_SECRET_FILE=%s)\n",
        secret_file->c_str(), secret_file->c_str());
    if (a.auth)
      std::printf(
          "auth is on: the admin password is in %s\n"
          "log in with: aisle auth login admin --password-file %s\n",
          admin_file.c_str(), admin_file.c_str());
    std::printf("stop it with: aisle down%s\n",
                a.dir == DefaultDir() ? "" : (" --dir " + a.dir).c_str());
  }
  return kExitOk;
}

int Down(const std::string& dir, bool quiet) {
  std::string state_file = dir + "/cluster.json";
  std::ifstream in(state_file);
  if (!in) {
    if (!quiet) std::printf("no cluster running from %s\n", dir.c_str());
    return kExitOk;
  }
  json st = json::parse(in, nullptr, false);
  std::vector<json> nodes, members;  // aisle nodes; etcd members (stopped after the nodes)
  if (!st.is_discarded() && st.contains("nodes")) {
    for (const auto& n : st["nodes"])
      (n.value("program", "aisle-node") == "etcd" ? members : nodes).push_back(n);
  }
  size_t n_pids = nodes.size() + members.size();
  for (auto* group : {&nodes, &members}) {
    // Targets and extra proxies first, the primary (first node) last.
    for (auto it = group->rbegin(); it != group->rend(); ++it) {
      if (Alive(*it)) ::kill(it->value("pid", 0), SIGTERM);
    }
    auto deadline = std::chrono::steady_clock::now() + milliseconds(15000);
    for (const auto& n : *group) {
      pid_t p = n.value("pid", 0);
      while (Alive(n) && std::chrono::steady_clock::now() < deadline) {
        ::waitpid(p, nullptr, WNOHANG);
        std::this_thread::sleep_for(milliseconds(50));
      }
      if (Alive(n)) ::kill(p, SIGKILL);
    }
  }
  fs::remove(state_file);
  if (!quiet)
    std::printf("Aisle cluster stopped (%zu process(es)); data kept in %s\n", n_pids, dir.c_str());
  return kExitOk;
}

std::string Human(uint64_t b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int i = 0;
  while (v >= 1024 && i < 4) v /= 1024, ++i;
  char buf[32];
  std::snprintf(buf, sizeof buf, i ? "%.1f%s" : "%.0f%s", v, u[i]);
  return buf;
}

int Show(CliContext& ctx) {
  auto smap = GetJson(*ctx.cluster, ctx.endpoint + "/v1/daemon?what=smap");
  if (!smap.ok()) return Fail(smap.status());
  std::string primary =
      (*smap)["proxy_si"].is_object() ? (*smap)["proxy_si"].value("daemon_id", "") : "";
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "ROLE", "STATE", "URL", "OBJECTS", "DISK USED", "REBALANCE"}};
  json out = json::array();
  for (const char* group : {"pmap", "tmap"}) {
    if (!(*smap).contains(group)) continue;
    for (auto it = (*smap)[group].begin(); it != (*smap)[group].end(); ++it) {
      const json& n = it.value();
      std::string url = n["public_net"].value("direct_url", "");
      std::string role = n.value("daemon_type", "");
      if (it.key() == primary) role += " (primary)";
      std::string state = n.value("aisle_state", "online");
      std::string objects = "-", disk = "-", reb = "-";
      json node = {
          {"id", it.key()}, {"role", n.value("daemon_type", "")}, {"state", state}, {"url", url}};
      if (n.value("daemon_type", "") == "target" && state != "down") {
        if (auto s = GetJson(*ctx.cluster, url + "/v1/daemon?what=stats"); s.ok()) {
          uint64_t used = 0;
          for (const auto& mp : (*s)["mountpaths"]) used += mp.value("used", uint64_t{0});
          objects = std::to_string((*s).value("objects", uint64_t{0}));
          disk = Human(used);
          node["objects"] = (*s).value("objects", uint64_t{0});
          node["disk_used"] = used;
        }
        if (auto r = GetJson(*ctx.cluster, url + "/v1/daemon?what=rebalance"); r.ok()) {
          reb = (*r).value("running", false) ? "running" : "idle";
          reb += " (moved " + std::to_string((*r).value("objects_moved", 0)) + ")";
          node["rebalance"] = *r;
        }
      }
      rows.push_back({it.key(), role, state, url, objects, disk, reb});
      out.push_back(node);
    }
  }
  if (ctx.json) {
    PrintJson({{"version", (*smap).value("version", "")}, {"nodes", out}});
  } else {
    std::printf("cluster map v%s\n", (*smap).value("version", "?").c_str());
    PrintTable(rows);
  }
  return kExitOk;
}

// Membership changes need the cluster secret when the nodes have one (docs/SECURITY.md): the
// request is signed as from the endpoint proxy, which is in the cluster map.
Status SignAsEndpoint(CliContext& ctx, HttpRequest* req) {
  if (ctx.secret_file.empty()) return Status::OK();
  AISLE_ASSIGN_OR_RETURN(ClusterSecret secret, ClusterSecret::Load(ctx.secret_file));
  AISLE_ASSIGN_OR_RETURN(json snode, GetJson(*ctx.cluster, ctx.endpoint + "/v1/daemon?what=snode"));
  std::string id = snode.value("daemon_id", "");
  if (id.empty()) return Status::Unavailable("the endpoint did not say its node ID");
  const std::string* body = std::get_if<std::string>(&req->body);
  SignIntra(secret, req->method, UrlTarget(req->url), id, Sha256Hex(body ? *body : ""),
            NowNs() / 1000000000, &req->headers);
  return Status::OK();
}

int Remove(CliContext& ctx, const std::string& node) {
  HttpRequest req;
  req.method = "PUT";
  req.url = ctx.endpoint + "/v1/cluster";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = json{{"action", "decommission-node"}, {"name", ""}, {"value", {{"sid", node}}}}.dump();
  if (Status st = SignAsEndpoint(ctx, &req); !st.ok()) return Fail(st);
  req.max_retries = 0;
  if (!ctx.json) std::fprintf(stderr, "draining %s through rebalance...\n", node.c_str());
  auto resp = ctx.cluster->Do(req);
  if (!resp.ok()) return Fail(resp.status());
  if (resp->status != 200) return Fail(StatusFromHttpError(*resp, "PUT"));
  if (ctx.json)
    PrintJson({{"removed", node}});
  else
    std::printf("node %s drained and removed from the cluster\n", node.c_str());
  return kExitOk;
}

}  // namespace

void RegisterClusterCommands(CLI::App* app, CliContext* ctx, Action* action) {
  auto up_args = std::make_shared<UpArgs>();
  auto* up =
      app->add_subcommand("up", "Start a local cluster (1 proxy + N targets) and wait until ready");
  up->add_option("--targets", up_args->targets, "number of targets")->capture_default_str();
  up->add_option("--proxies", up_args->proxies, "number of proxies")->capture_default_str();
  up->add_option("--dir", up_args->dir, "data directory")->capture_default_str();
  up->add_option("--port", up_args->port, "primary proxy port (default 8080 if free)");
  up->add_option("--keepalive-ms", up_args->keepalive_ms, "keepalive interval")
      ->capture_default_str();
  up->add_flag("--auth", up_args->auth,
               "require user tokens; writes DIR/admin.password for user admin");
  up->add_flag("--tls", up_args->tls,
               "serve https: generate a CA and node certificate in DIR/tls and print the CA path");
  up->add_flag("--etcd", up_args->etcd,
               "HA: start a local 3-member etcd (DIR/etcd) and elect the primary among the "
               "proxies (use with --proxies 3)");
  up->callback([=] { *action = [=] { return Up(*ctx, *up_args); }; });

  auto dir = std::make_shared<std::string>(DefaultDir());
  auto* down = app->add_subcommand("down", "Stop the local cluster started by `aisle up`");
  down->add_option("--dir", *dir, "data directory")->capture_default_str();
  down->callback([=] { *action = [=] { return Down(*dir, false); }; });

  auto* cluster = app->add_subcommand("cluster", "Show and manage cluster nodes");
  cluster->require_subcommand(1);
  auto* show = cluster->add_subcommand("show", "List nodes, state, disk use and object counts");
  show->callback([=] { *action = [=] { return Show(*ctx); }; });
  auto node = std::make_shared<std::string>();
  auto* remove =
      cluster->add_subcommand("remove", "Drain a target through rebalance, then remove it");
  remove->add_option("NODE", *node, "node ID")->required();
  remove->callback([=] { *action = [=] { return Remove(*ctx, *node); }; });
}

}  // namespace aisle::cli
