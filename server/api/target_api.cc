#include "server/api/target_api.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "server/api/errors.h"

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
  if (group == "buckets" || group == "objects") {
    if (Status st = CheckProvider(req); !st.ok()) return WriteError(req, resp, st, ctx_.node);
  }
  if (group == "buckets") {
    while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
    if (tail.find('/') != std::string_view::npos) {
      return WriteError(req, resp, 400, "invalid bucket name \"" + std::string(tail) + "\"",
                        ctx_.node);
    }
    return HandleBuckets(ctx_, req, resp, tail);
  }
  if (group == "objects") {
    size_t s = tail.find('/');
    if (s == std::string_view::npos || s == 0 || s + 1 == tail.size()) {
      return WriteError(req, resp, 400,
                        "invalid URL path \"" + req.path + "\": expecting /v1/objects/BUCKET/OBJECT",
                        ctx_.node);
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

nlohmann::json SnodeJson(const NodeContext& n) {
  nlohmann::json net = {{"node_ip_addr", n.host},
                        {"daemon_port", std::to_string(n.port)},
                        {"direct_url", n.Url()}};
  return {{"public_net", net},
          {"intra_control_net", net},
          {"intra_data_net", net},
          {"daemon_type", n.role},
          {"daemon_id", n.id},
          {"flags", 0}};
}

}  // namespace

void HandleDaemon(ApiContext& ctx, Request& req, Response& resp) {
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", ctx.node);
  std::string what = req.Query("what").value_or("");
  nlohmann::json out;
  if (what == "snode") {
    out = SnodeJson(ctx.node);
  } else if (what == "smap") {
    // A single node: the cluster map holds just this target (the cluster work adds proxies).
    out = {{"tmap", {{ctx.node.id, SnodeJson(ctx.node)}}},
           {"pmap", nlohmann::json::object()},
           {"proxy_si", nullptr},
           {"uuid", ctx.node.id},
           {"creation_time", HttpDate(ctx.node.start_ns)},
           {"version", "1"}};
  } else if (what == "mountpaths") {
    out = {{"available", ctx.store->mountpaths()},
           {"waiting_dd", nlohmann::json::array()},
           {"disabled", nlohmann::json::array()}};
  } else {
    return WriteError(req, resp, 400, "invalid what=\"" + what + "\" (expecting snode, smap or mountpaths)",
                      ctx.node);
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump();
}

}  // namespace aisle::api
