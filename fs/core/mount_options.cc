#include "fs/core/mount_options.h"

#include <unistd.h>

#include <cstdlib>
#include <set>

namespace aisle::fs {
namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m); }

Result<double> ParseSeconds(const std::string& k, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || d < 0) return Bad("bad value for " + k + ": " + v);
  return d;
}

Result<long> ParseLong(const std::string& k, const std::string& v, int base) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, base);
  if (v.empty() || *end != '\0' || n < 0) return Bad("bad value for " + k + ": " + v);
  return n;
}

Status ApplyOption(const std::string& opt, MountConfig* c) {
  static const std::set<std::string> kIgnored = {
      "rw",    "defaults", "auto",    "noauto",   "user",
      "users", "nouser",   "_netdev", "nofail",   "dev",
      "nodev", "suid",     "nosuid",  "exec",     "noexec",
      "async", "atime",    "noatime", "relatime", "default_permissions"};
  size_t eq = opt.find('=');
  std::string k = opt.substr(0, eq);
  std::string v = eq == std::string::npos ? "" : opt.substr(eq + 1);
  if (opt.empty() || kIgnored.count(opt) || k.rfind("x-", 0) == 0 || k == "comment") {
    return Status::OK();
  }
  if (opt == "ro") {
    c->fs.read_only = true;
  } else if (opt == "direct_io") {
    c->fs.direct_io_from = 0;
  } else if (k == "direct_io_above") {
    AISLE_ASSIGN_OR_RETURN(c->fs.direct_io_from, ParseSize(v));
  } else if (opt == "allow_other") {
    c->allow_other = true;
  } else if (opt == "debug") {
    c->debug = c->foreground = true;
  } else if (k == "uid") {
    AISLE_ASSIGN_OR_RETURN(long n, ParseLong(k, v, 10));
    c->fs.uid = static_cast<uid_t>(n);
  } else if (k == "gid") {
    AISLE_ASSIGN_OR_RETURN(long n, ParseLong(k, v, 10));
    c->fs.gid = static_cast<gid_t>(n);
  } else if (k == "umask") {
    AISLE_ASSIGN_OR_RETURN(long n, ParseLong(k, v, 8));
    c->fs.umask = static_cast<mode_t>(n & 0777);
  } else if (k == "attr_timeout") {
    AISLE_ASSIGN_OR_RETURN(c->fs.attr_timeout, ParseSeconds(k, v));
  } else if (k == "entry_timeout") {
    AISLE_ASSIGN_OR_RETURN(c->fs.entry_timeout, ParseSeconds(k, v));
  } else if (k == "negative_timeout") {
    AISLE_ASSIGN_OR_RETURN(c->fs.negative_timeout, ParseSeconds(k, v));
  } else if (k == "dir_timeout") {
    AISLE_ASSIGN_OR_RETURN(c->fs.dir_timeout, ParseSeconds(k, v));
  } else if (k == "readahead") {
    AISLE_ASSIGN_OR_RETURN(c->fs.readahead, ParseSize(v));
  } else if (k == "max_conns") {
    AISLE_ASSIGN_OR_RETURN(long n, ParseLong(k, v, 10));
    if (n < 1 || n > 256) return Bad("max_conns must be 1..256");
    c->fs.max_conns = static_cast<int>(n);
  } else if (k == "shards") {
    if (v != "on" && v != "off") return Bad("shards=on|off");
    c->fs.shards = v == "on";
  } else if (k == "local_reads") {
    if (v != "on" && v != "off") return Bad("local_reads=on|off");
    c->fs.local_reads = v == "on";
  } else if (k == "prefetch") {
    if (v != "on" && v != "off") return Bad("prefetch=on|off");
    c->fs.prefetch = v == "on";
  } else if (k == "prefetch_mem") {
    AISLE_ASSIGN_OR_RETURN(c->fs.prefetch_mem, ParseSize(v));
    if (c->fs.prefetch_mem == 0) c->fs.prefetch = false;
  } else if (k == "prefetch_max") {
    AISLE_ASSIGN_OR_RETURN(c->fs.prefetch_max_object, ParseSize(v));
  } else if (k == "prefetch_streams") {
    AISLE_ASSIGN_OR_RETURN(long n, ParseLong(k, v, 10));
    if (n < 1 || n > 64) return Bad("prefetch_streams must be 1..64");
    c->fs.prefetch_streams = static_cast<int>(n);
  } else if (k == "spool_dir") {
    if (v.empty()) return Bad("spool_dir needs a directory");
    c->fs.spool_dir = v;
  } else if (k == "retry_timeout") {
    AISLE_ASSIGN_OR_RETURN(c->retry_timeout, ParseSeconds(k, v));
  } else if (k == "token_file") {
    c->token_file = v;
  } else if (k == "ca_file") {
    if (v.empty()) return Bad("ca_file needs a file");
    c->ca_file = v;
  } else if (k == "skip_verify") {
    c->skip_verify = true;
  } else if (k == "log_level") {
    c->log_level = v;
  } else if (k == "metrics") {
    // HOST:PORT; the port is what must be there (HOST may be a name or an IPv4 address).
    size_t colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == v.size() ||
        v.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        v.size() - colon - 1 > 5 || std::stoi(v.substr(colon + 1)) > 65535)
      return Bad("metrics needs HOST:PORT (e.g. metrics=127.0.0.1:9105), got \"" + v + "\"");
    c->metrics_addr = v;
  } else {
    return Bad("unknown option: " + opt);
  }
  return Status::OK();
}

Status ApplyOptionList(const std::string& list, MountConfig* c) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    AISLE_RETURN_IF_ERROR(ApplyOption(list.substr(start, end - start), c));
    start = end + 1;
  }
  return Status::OK();
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& s) {
  if (s.empty()) return Bad("empty size");
  char* end = nullptr;
  unsigned long long n = std::strtoull(s.c_str(), &end, 10);
  std::string suf(end);
  uint64_t mul = 1;
  if (suf == "" || suf == "B")
    mul = 1;
  else if (suf == "K" || suf == "k" || suf == "KiB")
    mul = 1ull << 10;
  else if (suf == "M" || suf == "m" || suf == "MiB")
    mul = 1ull << 20;
  else if (suf == "G" || suf == "g" || suf == "GiB")
    mul = 1ull << 30;
  else
    return Bad("bad size: " + s);
  if (end == s.c_str()) return Bad("bad size: " + s);
  return static_cast<uint64_t>(n) * mul;
}

Result<MountConfig> ParseMountArgs(const std::vector<std::string>& args) {
  MountConfig c;
  c.fs.uid = ::getuid();
  c.fs.gid = ::getgid();
  std::vector<std::string> pos;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      c.help = true;
    } else if (a == "-V" || a == "--version") {
      c.version = true;
    } else if (a == "--check") {
      c.check = true;
    } else if (a == "-f") {
      c.foreground = true;
    } else if (a == "-d") {
      c.debug = c.foreground = true;
    } else if (a == "-s" || a == "-n" || a == "-v") {
      // mount(8) passes -n/-v (no mtab / verbose); -s (single thread) is not offered.
    } else if (a == "--token-file") {
      if (i + 1 >= args.size()) return Bad("--token-file needs a file");
      c.token_file = args[++i];
    } else if (a == "--prefetch" || a == "--prefetch-mem" || a == "--cache-dir") {
      // Long forms of -o prefetch=..., -o prefetch_mem=...
      if (i + 1 >= args.size()) return Bad(a + " needs an argument");
      if (a == "--cache-dir") return Bad("--cache-dir: no disk cache yet (RAM only)");
      std::string k = a == "--prefetch" ? "prefetch" : "prefetch_mem";
      AISLE_RETURN_IF_ERROR(ApplyOption(k + "=" + args[++i], &c));
    } else if (a == "-o") {
      if (i + 1 >= args.size()) return Bad("-o needs an argument");
      AISLE_RETURN_IF_ERROR(ApplyOptionList(args[++i], &c));
    } else if (a.rfind("-o", 0) == 0) {
      AISLE_RETURN_IF_ERROR(ApplyOptionList(a.substr(2), &c));
    } else if (!a.empty() && a[0] == '-') {
      return Bad("unknown flag: " + a);
    } else {
      pos.push_back(a);
    }
  }
  if (c.help || c.version) return c;
  if (pos.size() != 2) return Bad("expected ENDPOINT[/BUCKET] MOUNTPOINT");
  // URL[,URL...][/BUCKET]: a bucket may follow any URL; all that name one must agree.
  std::string list = pos[0];
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string ep = list.substr(start, comma - start);
    start = comma + 1;
    if (ep.empty()) return Bad("empty URL in endpoint list \"" + list + "\"");
    if (ep.find("://") == std::string::npos) ep = "http://" + ep;
    size_t host_start = ep.find("://") + 3;
    size_t slash = ep.find('/', host_start);
    if (slash != std::string::npos) {
      std::string bucket = ep.substr(slash + 1);
      while (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
      if (bucket.find('/') != std::string::npos) return Bad("bucket name must not contain '/'");
      if (!bucket.empty() && !c.fs.bucket.empty() && bucket != c.fs.bucket)
        return Bad("endpoint list names two buckets: " + c.fs.bucket + ", " + bucket);
      if (!bucket.empty()) c.fs.bucket = bucket;
      ep.resize(slash);
    }
    if (ep.size() <= host_start) return Bad("missing host in endpoint " + ep);
    c.endpoints.push_back(ep);
  }
  c.endpoint = c.endpoints.front();
  c.mountpoint = pos[1];
  return c;
}

std::string MountUsage() {
  return "usage: aisle-fs ENDPOINT[/BUCKET] MOUNTPOINT [-f] [-d] [-o opt[,opt...]]\n"
         "  ENDPOINT      http://host:port of a proxy or target (scheme optional); several\n"
         "                proxies comma separated: URL,URL[/BUCKET] (fail over between them)\n"
         "  -f            stay in the foreground (default: daemon once mounted)\n"
         "  -d            foreground with a libfuse request trace\n"
         "  --token-file F  user token for clusters with --auth (AIS_AUTHN_TOKEN wins)\n"
         "  --check       validate the arguments and exit (0, or 2), without mounting\n"
         "options:\n"
         "  ro                      read-only mount (writes get EROFS)\n"
         "  allow_other             let other users access the mount\n"
         "  uid=N,gid=N,umask=OOO   owner and permission bits shown (default: caller, 022)\n"
         "  attr_timeout=S          attribute cache TTL, seconds (5)\n"
         "  entry_timeout=S         name cache TTL, seconds (5)\n"
         "  dir_timeout=S           directory listing cache TTL, seconds (5)\n"
         "  negative_timeout=S      negative lookup TTL, seconds (2)\n"
         "  readahead=SIZE          max sequential readahead window per file (64M)\n"
         "  max_conns=N             parallel range GETs (16)\n"
         "  shards=on|off           show .tar/.tgz/.zip... as directories of members (on)\n"
         "  direct_io               read files past the kernel page cache: faster streaming,\n"
         "                          no cache between opens, no shared mmap (off)\n"
         "  direct_io_above=SIZE    the same for files of at least SIZE only (off)\n"
         "  local_reads=on|off      read objects of a target on this host from its files (on)\n"
         "  prefetch=on|off         fetch small files ahead with GetBatch: the siblings after\n"
         "                          those a reader opens in order, whole small directories\n"
         "                          and shards once listed (on; also --prefetch on|off)\n"
         "  prefetch_mem=SIZE       RAM for files fetched ahead (512M; --prefetch-mem SIZE)\n"
         "  prefetch_max=SIZE       only files up to this size are fetched ahead (1M)\n"
         "  prefetch_streams=N      GetBatch requests in flight (4)\n"
         "  spool_dir=DIR           where writes are spooled before the PUT (/tmp)\n"
         "  retry_timeout=S         how long a request retries an unreachable node (20)\n"
         "  log_level=LEVEL         trace|debug|info|warn|error (info)\n"
         "  metrics=HOST:PORT       serve Prometheus metrics at http://HOST:PORT/metrics (off)\n"
         "  token_file=F            as --token-file\n"
         "  ca_file=F               CA (PEM) that verifies an https cluster (AIS_CLIENT_CA)\n"
         "  skip_verify             no TLS certificate check (testing only; "
         "AIS_SKIP_VERIFY_CRT)\n";
}

}  // namespace aisle::fs
