#include "server/native/node_queries.h"

#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/logging.h"
#include "server/metrics/node_metrics.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;

struct MountUsage {
  uint64_t total = 0, used = 0, avail = 0;
  std::string fs;
};

std::string FsName(const std::string& path) {
  struct statfs s;
  if (::statfs(path.c_str(), &s) != 0) return "";
  switch (static_cast<uint64_t>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x01021994: return "tmpfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlay";
    case 0x2FC12FC1: return "zfs";
    default: return "";
  }
}

MountUsage UsageOf(const std::string& path) {
  MountUsage u;
  struct statvfs v;
  if (::statvfs(path.c_str(), &v) == 0) {
    u.total = uint64_t{v.f_blocks} * v.f_frsize;
    u.avail = uint64_t{v.f_bavail} * v.f_frsize;
    u.used = u.total - uint64_t{v.f_bfree} * v.f_frsize;
  }
  u.fs = FsName(path);
  return u;
}

double Pct(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) * 100.0 / static_cast<double>(whole) : 0.0;
}

// AIStore's cos.MemCPUInfo, from sysinfo(2) and /proc/loadavg.
json SysInfo() {
  struct sysinfo si {};
  json out = json::object();
  if (::sysinfo(&si) == 0) {
    uint64_t unit = si.mem_unit ? si.mem_unit : 1;
    uint64_t total = uint64_t{si.totalram} * unit, avail = uint64_t{si.freeram} * unit;
    out["mem_used"] = total - avail;
    out["mem_avail"] = avail;
    out["pct_mem_used"] = Pct(total - avail, total);
  }
  double l1 = 0, l5 = 0, l15 = 0;
  std::ifstream f("/proc/loadavg");
  f >> l1 >> l5 >> l15;
  out["load_avg"] = {{"1m", l1}, {"5m", l5}, {"15m", l15}};
  long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
  out["num_cpu"] = ncpu > 0 ? ncpu : 1;
  out["pct_cpu_util"] = ncpu > 0 ? std::min(100.0, l1 * 100.0 / static_cast<double>(ncpu)) : 0.0;
  return out;
}

// AIStore's stats "tracker": counters by their dotted names (the SDK's NodeTracker aliases).
json Tracker(const NodeFacts& f) {
  json t = json::object();
  auto ops = [&](const metrics::OpCounters& get, const metrics::OpCounters& put,
                 const metrics::OpCounters& del) {
    t["get.n"] = get.count.Value();
    t["get.ns"] = get.ns_total.Value();
    t["get.size"] = get.bytes.Value();
    t["err.get.n"] = get.errors.Value();
    t["put.n"] = put.count.Value();
    t["put.ns"] = put.ns_total.Value();
    t["put.size"] = put.bytes.Value();
    t["err.put.n"] = put.errors.Value();
    t["del.n"] = del.count.Value();
    t["err.del.n"] = del.errors.Value();
  };
  if (f.target_metrics) {
    ops(f.target_metrics->get, f.target_metrics->put, f.target_metrics->del);
    t["lst.n"] = f.target_metrics->lst.Value();
  } else if (f.proxy_metrics) {
    ops(f.proxy_metrics->get, f.proxy_metrics->put, f.proxy_metrics->del);
    t["lst.n"] = f.proxy_metrics->lst.Value();
  }
  t["up.ns.time"] = NowNs() - f.node->start_ns;
  return t;
}

// AIStore's fs.Capacity: per mountpath DiskInfo (sizes as strings), totals, percentages.
json Capacity(const NodeFacts& f) {
  json mps = json::object();
  uint64_t total_used = 0, total_avail = 0;
  double pmax = 0, pmin = f.mountpaths.empty() ? 0 : 100, psum = 0;
  for (const auto& mp : f.mountpaths) {
    MountUsage u = UsageOf(mp);
    double pct = Pct(u.used, u.used + u.avail);
    mps[mp] = {{"used", std::to_string(u.used)},
               {"avail", std::to_string(u.avail)},
               {"pct_used", pct},
               {"disks", json::array()},
               {"mountpath_label", ""},
               {"fs", u.fs}};
    total_used += u.used;
    total_avail += u.avail;
    pmax = std::max(pmax, pct);
    pmin = std::min(pmin, pct);
    psum += pct;
  }
  return {{"MountPaths", mps},
          {"pct_max", pmax},
          {"pct_avg", f.mountpaths.empty() ? 0.0 : psum / static_cast<double>(f.mountpaths.size())},
          {"pct_min", pmin},
          {"cs_err", ""},
          {"total_used", total_used},
          {"total_avail", total_avail}};
}

// The node's configuration as far as the API layer knows it (a subset of AIStore's config).
json Config(const NodeFacts& f, bool cluster_wide) {
  json c = {{"net", {{"http", {{"use_https", false}}}, {"l4", {{"proto", "tcp"}}}}},
            {"log", {{"level", spdlog::level::to_string_view(spdlog::get_level()).data()}}},
            {"mirror", {{"copies", 1}, {"enabled", false}}},
            {"versioning", {{"enabled", true}}},
            {"checksum", {{"type", "xxhash"}}}};
  if (!cluster_wide) {
    c["fspaths"] = {{"paths", f.mountpaths}};
    c["public_net"] = {{"hostname", f.node->host}, {"port", std::to_string(f.node->port)}};
    c["daemon_id"] = f.node->id;
    c["role"] = f.node->role;
  }
  return c;
}

}  // namespace

bool IsNodeQuery(const std::string& what) {
  return what == "node_status" || what == "sysinfo" || what == "config" ||
         what == "cluster_config" || what == "disk" || what == "log";
}

void AnswerNodeQuery(const std::string& what, const NodeFacts& f, const Request& req,
                     Response& resp) {
  if (what == "log") {
    size_t limit = 500;
    if (auto n = req.Query("lines"); n && !n->empty() && n->size() < 6 &&
                                     n->find_first_not_of("0123456789") == std::string::npos)
      limit = std::stoul(*n);
    std::string text;
    for (const auto& line : RecentLogLines(limit)) text += line;
    resp.headers.Set("Content-Type", "text/plain; charset=utf-8");
    resp.body = std::move(text);
    return;
  }
  json out;
  if (what == "node_status") {
    json snode = json::parse(f.snode_json, nullptr, false);
    out = {{"snode", snode.is_discarded() ? json::object() : snode},
           {"tracker", Tracker(f)},
           {"capacity", Capacity(f)},
           {"rebalance_snap", nullptr},
           {"status", "online"},
           {"deployment", "dev"},
           {"ais_version", "aisle"},
           {"build_time", ""},
           {"k8s_pod_name", ""},
           {"sys_info", SysInfo()},
           {"smap_version", std::to_string(f.smap_version)},
           {"reserved1", ""},
           {"reserved2", ""},
           {"reserved3", 0},
           {"reserved4", 0}};
  } else if (what == "sysinfo") {
    out = SysInfo();
  } else if (what == "disk") {
    out = json::object();
    for (const auto& mp : f.mountpaths) {
      MountUsage u = UsageOf(mp);
      out[mp] = {{"fs", u.fs},
                 {"total", u.total},
                 {"used", u.used},
                 {"avail", u.avail},
                 {"pct_used", Pct(u.used, u.used + u.avail)}};
    }
  } else {
    out = Config(f, what == "cluster_config");
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump();
}

}  // namespace aisle::api
