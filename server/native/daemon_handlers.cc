// GET /v1/health and the daemon API of a target: GET /v1/daemon?what=snode|smap|mountpaths|stats|
// rebalance (and the node queries of node_queries.h) and PUT /v1/daemon {"action":"shutdown"}.
#include <sys/statvfs.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "server/api/errors.h"
#include "server/cluster/target_cluster.h"
#include "server/native/local_read_handler.h"
#include "server/native/node_queries.h"
#include "server/native/target_api.h"
#include "server/storage/store.h"

namespace aisle::api {

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
  node.tls = n.tls;
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
  if (IsNodeQuery(what)) {
    NodeFacts f;
    f.node = &ctx.node;
    f.snode_json = cluster::NodeToJson(ctx.cluster ? ctx.cluster->self() : SelfNode(ctx.node));
    f.smap_version = ctx.cluster ? ctx.cluster->smap()->version : 1;
    f.mountpaths = ctx.store->mountpaths();
    f.target_metrics = ctx.metrics;
    return AnswerNodeQuery(what, f, req, resp);
  }
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
        "invalid what=\"" + what +
            "\" (expecting snode, smap, mountpaths, stats, rebalance, node_status, sysinfo, "
            "config, cluster_config, disk or log)",
        ctx.node);
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump();
}

}  // namespace aisle::api
