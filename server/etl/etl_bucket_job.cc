// The offline transform job on one target: every object of the source bucket that this
// target owns (primary copy) is read, transformed by the ETL (none for copy-bck), renamed
// (prepend + extension map) and written to the destination bucket's owner — so each byte
// crosses the network at most once, from the transforming target to the new owner.
#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "etl/etl_manager.h"
#include "server/api/errors.h"
#include "server/api/object_integrity.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_chain.h"
#include "server/etl/etl_handlers.h"
#include "server/jobs/job_registry.h"
#include "server/jobs/tcb_output.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;

struct EtlBucketArgs {
  std::string src, dst;
  std::string etl;  // empty: copy-bck
  // TCBMsg's Transform: more ETLs applied in order after `etl` ("pipeline"), and a bound on
  // one object's whole chain ("request_timeout", 0 = none; each stage keeps its obj_timeout).
  std::vector<std::string> pipeline;
  int64_t request_timeout_ms = 0;
  std::string etl_args;
  std::string prefix, prepend;
  std::map<std::string, std::string> ext;  // "jpg" -> "png"
  bool dry_run = false;
  int workers = 0;
};

Result<EtlBucketArgs> ParseArgs(const Request& req, std::string_view bucket, const ActionMsg& msg) {
  EtlBucketArgs a;
  a.src = std::string(bucket);
  a.dst = DestBucketOf(req, msg);
  if (a.dst.empty())
    return Status::InvalidArgument("missing destination bucket (?bck_to=ais://DST or \"name\")");
  AISLE_RETURN_IF_ERROR(CheckBucketName(a.dst));
  const json& v = *msg.value;
  if (!v.is_null() && !v.is_object())
    return Status::InvalidArgument("\"value\" must be a JSON object (TCBMsg)");
  AISLE_RETURN_IF_ERROR(CheckTcbSync(v));
  auto str = [&](const char* k) {
    return v.is_object() && v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : "";
  };
  a.etl = str("id");
  if (a.etl.empty() && v.is_object() && v.contains("transform") && v["transform"].is_object())
    a.etl = v["transform"].value("id", v["transform"].value("name", std::string()));
  if (msg.action == "etl-bck" && a.etl.empty())
    return Status::InvalidArgument("etl-bck: missing the ETL name (\"id\")");
  if (msg.action == "copy-bck") a.etl.clear();
  if (!a.etl.empty()) {
    AISLE_ASSIGN_OR_RETURN(a.pipeline, ParseTcbPipeline(v));
    AISLE_ASSIGN_OR_RETURN(a.request_timeout_ms, ParseTcbTimeout(v));
  }
  a.etl_args = str("etl_args");
  a.prefix = str("prefix");
  a.prepend = str("prepend");
  if (v.is_object()) {
    a.dry_run = v.value("dry_run", false);
    if (v.contains("num-workers") && v["num-workers"].is_number_integer())
      a.workers = v["num-workers"].get<int>();
    if (v.contains("ext") && v["ext"].is_object())
      AISLE_RETURN_IF_ERROR(jobs::ParseTcbExt(v["ext"], &a.ext));
  }
  if (a.src == a.dst && a.prepend.empty() && a.ext.empty())
    return Status::InvalidArgument("source and destination are the same bucket ais://" + a.src +
                                   " and no renaming (prepend, ext) was given");
  return a;
}

// Each object is transformed by exactly one target. With one copy that is whoever holds it —
// independent of the cluster map, which may change under load (a slow keepalive marks a target
// down for a moment) while the job runs. With more copies, the HRW owner among the holders.
bool OwnedHere(ApiContext& ctx, const std::string& bucket, const std::string& name) {
  if (!ctx.cluster || ctx.cluster->CopiesOf(bucket) <= 1) return true;
  std::shared_ptr<const cluster::Smap> holder;
  const cluster::Node* owner = ctx.cluster->OwnerOf(holder, bucket, name);
  return owner && owner->id == ctx.node.id;
}

using Chain = EtlChain;

Status RunEtlBucket(ApiContext ctx, const EtlBucketArgs& a, const Chain& chain, jobs::Job& job) {
  const std::shared_ptr<etl::EtlInstance> inst = chain.empty() ? nullptr : chain.front();
  // Names first (one page at a time), so a huge bucket costs memory only for its names.
  std::vector<std::string> names;
  storage::ListOptions lo;
  lo.prefix = a.prefix;
  lo.page_size = 10000;
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(storage::ListPage page, ctx.store->List(a.src, lo));
    for (auto& e : page.entries)
      if (OwnedHere(ctx, a.src, e.name)) names.push_back(std::move(e.name));
    if (page.next_token.empty()) break;
    lo.start_after = page.next_token;
  }
  job.SetTotal(names.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> failed{0};
  int workers = a.workers > 0 ? a.workers
                              : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  auto work = [&] {
    for (size_t i; !job.aborted() && (i = next.fetch_add(1)) < names.size();) {
      const std::string& name = names[i];
      auto st = [&]() -> Status {
        std::string data;
        if (!inst || !inst->transformer().PullsData()) {
          // Always verified: a corrupt source is never copied (and is repaired where it can be).
          AISLE_ASSIGN_OR_RETURN(storage::ObjectReader r, OpenVerified(ctx, a.src, name, true));
          AISLE_ASSIGN_OR_RETURN(data, storage::ReadObjectData(r));
        }
        job.AddInput(1, data.size());
        const std::string out_name = jobs::TcbDestName(a.prepend, a.ext, name);
        AISLE_ASSIGN_OR_RETURN(ChainOutput out,
                               RunChainFor(ctx, chain, std::move(data), a.src, name, a.etl_args,
                                           a.request_timeout_ms, a.dst, out_name, a.dry_run));
        if (out.delivered) {
          job.AddOutput(1, out.delivered_size);
          return Status::OK();
        }
        return jobs::WriteTcbOutput(ctx, a.dst, out_name, out.data, a.dry_run, job);
      }();
      if (!st.ok()) {
        failed.fetch_add(1);
        job.NoteError(storage::ObjectCname(a.src, name) + ": " + st.message());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (job.aborted()) return Status::Internal("aborted");
  if (failed > 0) {
    return Status::IOError(std::to_string(failed.load()) + " of " + std::to_string(names.size()) +
                           " objects failed; last: " + job.Snapshot().error);
  }
  return Status::OK();
}

}  // namespace

void StartEtlBucketJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                       const ActionMsg& msg) {
  auto args = ParseArgs(req, bucket, msg);
  if (!args.ok()) return WriteError(req, resp, args.status(), ctx.node);
  if (!ctx.store->HeadBucket(args->src).ok())
    return WriteError(req, resp,
                      Status::NotFound("bucket \"ais://" + args->src + "\" does not exist")
                          .WithSubject(Subject::kBucket),
                      ctx.node);
  Chain chain;
  if (!args->etl.empty()) {
    if (!ctx.etl) return WriteError(req, resp, 501, "this node runs no transforms", ctx.node);
    std::vector<std::string> names = {args->etl};
    names.insert(names.end(), args->pipeline.begin(), args->pipeline.end());
    auto r = AcquireChain(ctx, names);
    if (!r.ok()) return WriteError(req, resp, r.status(), ctx.node);
    chain = std::move(r).value();
  }
  if (!ctx.store->HeadBucket(args->dst).ok()) {
    if (ctx.cluster) (void)ctx.cluster->SyncMaps();  // created by the proxy a moment ago
    if (!ctx.cluster) (void)ctx.store->CreateBucket(args->dst);
    if (!ctx.store->HeadBucket(args->dst).ok())
      return WriteError(req, resp,
                        Status::NotFound("bucket \"ais://" + args->dst + "\" does not exist")
                            .WithSubject(Subject::kBucket),
                        ctx.node);
  }
  std::string kind = args->etl.empty() ? "copy-bck" : "etl-bck";
  ApiContext job_ctx = ctx;
  EtlBucketArgs a = std::move(args).value();
  std::string id = ctx.jobs->Start(
      kind, a.src, a.dst,
      [job_ctx, a, chain](jobs::Job& job) { return RunEtlBucket(job_ctx, a, chain, job); },
      req.Query("job_id").value_or(""));
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

}  // namespace aisle::api
