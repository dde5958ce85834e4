#include "server/api/target_api.h"

#include <sys/statvfs.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "server/api/errors.h"
#include "server/api/etl_handlers.h"
#include "server/api/job_handlers.h"
#include "server/api/local_read_handler.h"

namespace aisle::api {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTime(int64_t unix_ns, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

// Checks provider= (empty or ais); remote backends are not part of Aisle.
Status CheckProvider(const Request& req) {
  auto p = req.Query("provider");
  if (!p || p->empty() || *p == "ais") return Status::OK();
  return Status::Unsupported("provider \"" + *p + "\" is not supported (only ais:// buckets)");
}

}  // namespace

std::string HttpDate(int64_t unix_ns) { return FormatTime(unix_ns, "%a, %d %b %Y %H:%M:%S GMT"); }
std::string Rfc822(int64_t unix_ns) { return FormatTime(unix_ns, "%d %b %y %H:%M UTC"); }

void TargetApi::Handle(Request& req, Response& resp) {
  std::string_view path = req.path;
  constexpr std::string_view kV1 = "/v1/";
  // S3: path style under /s3, virtual-host style at the root (S3Api checks the Host).
  if (ctx_.s3 && path.substr(0, kV1.size()) != kV1) return ctx_.s3->Handle(req, resp);
  if (path.substr(0, kV1.size()) != kV1) {
    WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", ctx_.node);
    return;
  }
  std::string_view rest = path.substr(kV1.size());
  size_t slash = rest.find('/');
  std::string_view group = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  if (group == "health") return HandleHealth(ctx_, req, resp);
  if (group == "daemon") return HandleDaemon(ctx_, req, resp);
  if (group == "metasync") {
    if (!ctx_.cluster)
      return WriteError(req, resp, 400, "this node is not in a cluster", ctx_.node);
    auto body = req.ReadBody(16 << 20);
    if (!body.ok()) return WriteError(req, resp, body.status(), ctx_.node);
    Status st = ctx_.cluster->ApplyMetasync(*body);
    if (!st.ok()) WriteError(req, resp, st, ctx_.node);
    return;
  }
  if (group == "cluster" && IsJobRequest(req, tail)) return HandleJobs(ctx_, req, resp);
  if (group == "etl") return HandleEtl(ctx_, req, resp, tail);
  if (group == "buckets" || group == "objects") {
    if (Status st = CheckProvider(req); !st.ok()) return WriteError(req, resp, st, ctx_.node);
  }
  if (group == "buckets") {
    if (RedirectBucketToPrimary(ctx_, req, resp)) return;
    while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
    if (tail.find('/') != std::string_view::npos) {
      return WriteError(req, resp, 400,
                        "ais://" + std::string(tail) + ": invalid bucket name (no '/' allowed)",
                        ctx_.node);
    }
    return HandleBuckets(ctx_, req, resp, tail);
  }
  if (group == "objects") {
    size_t s = tail.find('/');
    if (s == std::string_view::npos || s == 0 || s + 1 == tail.size()) {
      return WriteError(
          req, resp, 400,
          "invalid URL path \"" + req.path + "\": expecting /v1/objects/BUCKET/OBJECT", ctx_.node);
    }
    return HandleObject(ctx_, req, resp, tail.substr(0, s), tail.substr(s + 1));
  }
  WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", ctx_.node);
}

void HandleHealth(ApiContext& ctx, Request& req, Response& resp) {
  if (req.method != "GET" && req.method != "HEAD")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", ctx.node);
  resp.status = 200;
  resp.headers.Set("Ais-Node-Uptime", std::to_string(NowNs() - ctx.node.start_ns));
  resp.headers.Set("Ais-Cluster-Uptime", std::to_string(NowNs() - ctx.node.start_ns));
}

namespace {

// This node as a cluster-map entry (AIStore's Snode JSON comes from cluster_map.cc).
cluster::Node SelfNode(const NodeContext& n) {
  cluster::Node node;
  node.id = n.id;
  node.role = n.role;
  node.host = n.host;
  node.port = n.port;
  return node;
}

nlohmann::json SnodeJson(const NodeContext& n) {
  return nlohmann::json::parse(cluster::NodeToJson(SelfNode(n)));
}

}  // namespace

void HandleDaemon(ApiContext& ctx, Request& req, Response& resp) {
  if (req.method == "PUT") {
    auto body = req.ReadBody(1 << 20);
    nlohmann::json j = nlohmann::json::parse(body.ok() ? *body : "", nullptr, false);
    if (j.is_object() && j.value("action", "") == "shutdown" && ctx.request_shutdown) {
      ctx.request_shutdown();
      return;
    }
    return WriteError(req, resp, 400, "invalid daemon action (expecting shutdown)", ctx.node);
  }
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", ctx.node);
  std::string what = req.Query("what").value_or("");
  nlohmann::json out;
  if (what == "smap" && ctx.cluster) {
    resp.headers.Set("Content-Type", "application/json");
    resp.body = cluster::SmapToJson(*ctx.cluster->smap());
    return;
  }
  if (what == "rebalance") {
    cluster::RebalanceStats s;
    if (ctx.cluster) s = ctx.cluster->rebalance_stats();
    out = {{"id", s.id},
           {"smap_version", s.smap_version},
           {"running", s.running},
           {"aborted", s.aborted},
           {"start_ns", s.start_ns},
           {"end_ns", s.end_ns},
           {"objects_scanned", s.objects_scanned},
           {"objects_moved", s.objects_moved},
           {"bytes_moved", s.bytes_moved},
           {"objects_copied", s.objects_copied},
           {"bytes_copied", s.bytes_copied},
           {"errors", s.errors},
           {"last_error", s.last_error}};
  } else if (what == "stats") {
    out = {{"objects", ctx.store->ObjectCount()}, {"mountpaths", nlohmann::json::array()}};
    if (ctx.local_reads)
      out["local_reads"] = {{"opens", ctx.local_reads->opens.load()},
                            {"errors", ctx.local_reads->errors.load()}};
    for (const auto& mp : ctx.store->mountpaths()) {
      struct statvfs vfs;
      if (::statvfs(mp.c_str(), &vfs) == 0) {
        uint64_t total = uint64_t{vfs.f_blocks} * vfs.f_frsize;
        uint64_t avail = uint64_t{vfs.f_bavail} * vfs.f_frsize;
        out["mountpaths"].push_back({{"path", mp},
                                     {"total", total},
                                     {"used", total - uint64_t{vfs.f_bfree} * vfs.f_frsize},
                                     {"avail", avail}});
      }
    }
  } else if (what == "snode") {
    out = SnodeJson(ctx.node);
  } else if (what == "smap") {
    // A single node: the cluster map holds just this target (the cluster work adds proxies).
    // A standalone target: the map holds just this node.
    cluster::Smap smap;
    smap.version = 1;
    smap.uuid = ctx.node.id;
    smap.created_ns = ctx.node.start_ns;
    smap.targets[ctx.node.id] = SelfNode(ctx.node);
    out = nlohmann::json::parse(cluster::SmapToJson(smap));
  } else if (what == "mountpaths") {
    out = {{"available", ctx.store->mountpaths()},
           {"waiting_dd", nlohmann::json::array()},
           {"disabled", nlohmann::json::array()}};
  } else {
    return WriteError(
        req, resp, 400,
        "invalid what=\"" + what + "\" (expecting snode, smap, mountpaths, stats or rebalance)",
        ctx.node);
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump();
}

}  // namespace aisle::api
