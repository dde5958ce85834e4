#include "server/shards/proxy_archive.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "server/api/action_msg.h"
#include "server/api/errors.h"
#include "server/cluster/target_cluster.h"
#include "server/shards/archive_job.h"
#include "server/storage/file_util.h"

namespace aisle::api {

void ForwardArchiveJob(cluster::ProxyCluster& cluster, const NodeContext& node, Request& req,
                       Response& resp, std::string_view bucket, const std::string& body) {
  auto fail = [&](const Status& st) { WriteError(req, resp, st, node); };
  auto msg = ParseActionMsg(body);
  if (!msg.ok()) return fail(msg.status());
  auto spec = shards::ParseArchiveMsg(msg->value->dump(), bucket);
  if (!spec.ok()) return fail(spec.status());
  auto bmd = cluster.bmd();
  for (const std::string& b : {spec->src_bucket, spec->dst_bucket})
    if (!bmd->buckets.count(b))
      return fail(Status::NotFound("bucket \"ais://" + b + "\" does not exist")
                      .WithSubject(Subject::kBucket));
  auto smap = cluster.smap();
  const cluster::Node* runner = smap->Owner(spec->dst_bucket, shards::ShardName(*spec, 0));
  if (!runner) return fail(Status::Unavailable("no target is online"));
  // Our id, so a status query fanned out to every target finds the job by it.
  std::string id = "arch-" + storage::RandomHex(8);
  HttpRequest fwd;
  fwd.method = "PUT";
  fwd.url = runner->Url() + req.target + (req.target.find('?') == std::string::npos ? "?" : "&") +
            "job_id=" + id;
  fwd.headers = {{"Content-Type", "application/json"}, {cluster::kIntraHeader, node.id}};
  fwd.body = body;
  fwd.max_retries = 0;  // a retried start could run the job twice
  fwd.total_timeout = std::chrono::milliseconds(30000);
  auto r = cluster.peers().Do(fwd);
  if (!r.ok()) return fail(r.status().WithContext("archive: target " + runner->id));
  // The target's answer as is: the job id, or its error JSON.
  resp.status = r->status;
  if (auto ct = r->Header("Content-Type")) resp.headers.Set("Content-Type", *ct);
  resp.body = std::move(r->body);
}

}  // namespace aisle::api
