// The proxy side of the multi-object jobs: validate once, then one id on every target (each
// works on its own names), so job queries through the proxy see one job.
#include <nlohmann/json.hpp>

#include "server/api/errors.h"
#include "server/cluster/fan_out.h"
#include "server/cluster/proxy_cluster.h"
#include "server/native/listrange.h"
#include "server/storage/file_util.h"

namespace aisle::api {

void ForwardListRange(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                      Response& resp, std::string_view bucket, const ActionMsg& msg,
                      const std::string& body) {
  auto fail = [&](const Status& st) { WriteError(req, resp, st, node); };
  auto args = ParseListRange(req, bucket, msg);
  if (!args.ok()) return fail(args.status());
  if (!cluster.bmd()->buckets.count(args->src))
    return fail(Status::NotFound("bucket \"ais://" + args->src + "\" does not exist")
                    .WithSubject(Subject::kBucket));
  std::vector<std::string> etls = args->pipeline;
  if (!args->etl.empty()) etls.insert(etls.begin(), args->etl);
  for (const auto& e : etls)
    if (!cluster.etlmd()->etls.count(e))
      return fail(Status::NotFound("etl job " + e + " does not exist").WithSubject(Subject::kEtl));
  if (!args->dst.empty() && !cluster.bmd()->buckets.count(args->dst)) {
    Status st = cluster.CreateBucket(args->dst, 1);
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return fail(st);
  }
  std::string id = "lr-" + storage::RandomHex(8);
  std::string target =
      req.target + (req.target.find('?') == std::string::npos ? "?" : "&") + "job_id=" + id;
  bool started = false;
  std::string error;
  int code = 503;
  for (auto& a : cluster::AskTargets(cluster, node.id, req.method, target, body)) {
    if (a.resp.ok() && a.resp->status == 200) {
      started = true;
      continue;
    }
    if (a.resp.ok()) code = a.resp->status;
    error = "target " + a.id + ": " +
            (a.resp.ok() ? cluster::RemoteErrorMessage(*a.resp) : a.resp.status().message());
  }
  if (!error.empty()) {
    if (started)  // stop the parts that did start
      (void)cluster::AskTargets(cluster, node.id, "PUT", "/v1/cluster",
                                nlohmann::json{{"action", "stop"}, {"value", {{"ID", id}}}}.dump());
    return WriteError(req, resp, code, error, node);
  }
  if (!started) return fail(Status::Unavailable("no target is online"));
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

}  // namespace aisle::api
