// Multi-object jobs on a target: which names are this target's, and the per-object work
// (delete here; or read, transform, write at the destination's owner).
#include "server/native/listrange.h"

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "etl/etl_manager.h"
#include "server/api/errors.h"
#include "server/api/object_integrity.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_chain.h"
#include "server/etl/etl_handlers.h"
#include "server/jobs/job_registry.h"
#include "server/jobs/tcb_output.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxListNames = 1'000'000;

std::string Str(const json& v, const char* k) {
  const json* p = FindKey(v, k);
  return p && p->is_string() ? p->get<std::string>() : std::string();
}

bool Bool(const json& v, const char* k) {
  const json* p = FindKey(v, k);
  return p && p->is_boolean() && p->get<bool>();
}

// "tobck": {"name": "dst", "provider": "ais"}; else ?bck_to= or the message's "name".
Result<std::string> DestOf(const Request& req, const ActionMsg& msg) {
  const json* to = FindKey(*msg.value, "tobck");
  if (to && to->is_object()) {
    std::string provider = Str(*to, "provider");
    if (!provider.empty() && provider != "ais")
      return Status::InvalidArgument("tobck: provider \"" + provider +
                                     "\" is not supported (this cluster has ais:// buckets only)");
    return Str(*to, "name");
  }
  if (to && !to->is_null()) return Status::InvalidArgument("\"tobck\" must be a bucket object");
  return DestBucketOf(req, msg);
}

Status ParseSelection(const json& v, ListRangeArgs& a) {
  const json* names = FindKey(v, "objnames");
  std::string tmpl = Str(v, "template");
  if (names && !names->is_null()) {
    if (!names->is_array()) return Status::InvalidArgument("\"objnames\" must be a list of names");
    if (names->size() > kMaxListNames)
      return Status::InvalidArgument("\"objnames\": more than " + std::to_string(kMaxListNames) +
                                     " names");
    for (const auto& n : *names) {
      if (!n.is_string()) return Status::InvalidArgument("\"objnames\" must hold strings");
      AISLE_RETURN_IF_ERROR(CheckObjectName(a.src, n.get_ref<const std::string&>()));
      a.names.push_back(n.get<std::string>());
    }
  }
  if (!a.names.empty() && !tmpl.empty())
    return Status::InvalidArgument("give either \"objnames\" or \"template\", not both");
  if (a.names.empty()) {
    if (tmpl.empty())
      return Status::InvalidArgument(
          a.action + ": empty selection (\"objnames\" is empty and there is no \"template\")");
    AISLE_ASSIGN_OR_RETURN(a.tmpl, ParseNameTemplate(tmpl));
  }
  return Status::OK();
}

Status ParseTcb(const json& v, ListRangeArgs& a) {
  a.prepend = Str(v, "prepend");
  a.dry_run = Bool(v, "dry_run");
  a.etl = Str(v, "id");
  if (const json* t = FindKey(v, "transform"); a.etl.empty() && t && t->is_object())
    a.etl = Str(*t, "id");
  a.etl_args = Str(v, "etl_args");
  if (a.action == "etl-listrange" && a.etl.empty())
    return Status::InvalidArgument("etl-listrange: missing the ETL name (\"id\")");
  if (a.action == "copy-listrange") a.etl.clear();
  if (!a.etl.empty()) {
    AISLE_ASSIGN_OR_RETURN(a.pipeline, ParseTcbPipeline(v));
    AISLE_ASSIGN_OR_RETURN(a.request_timeout_ms, ParseTcbTimeout(v));
  }
  if (const json* w = FindKey(v, "num-workers"); w && w->is_number_integer())
    a.workers = std::min(64, w->get<int>());
  if (const json* e = FindKey(v, "ext"); e && e->is_object())
    AISLE_RETURN_IF_ERROR(jobs::ParseTcbExt(*e, &a.ext));
  return Status::OK();
}

bool OwnerIsMe(const ApiContext& ctx, const std::string& bucket, const std::string& name) {
  if (!ctx.cluster) return true;
  std::shared_ptr<const cluster::Smap> holder;
  const cluster::Node* owner = ctx.cluster->OwnerOf(holder, bucket, name);
  return owner && owner->id == ctx.node.id;
}

// This target's names: those it holds, and those it owns by the map (to report them missing).
// A prefix-only template selects the objects stored here under the prefix.
Result<std::vector<std::string>> NamesHere(const ApiContext& ctx, const ListRangeArgs& a,
                                           const jobs::Job& job) {
  std::vector<std::string> out;
  auto mine = [&](const std::string& n) {
    if (OwnerIsMe(ctx, a.src, n) || ctx.store->Get(a.src, n).ok()) out.push_back(n);
    return !job.aborted();
  };
  if (!a.names.empty()) {
    for (const auto& n : a.names)
      if (!mine(n)) break;
  } else if (!a.tmpl.IsPrefixOnly()) {
    a.tmpl.ForEach(mine);
  } else {
    storage::ListOptions lo;
    lo.prefix = a.tmpl.prefix;
    lo.page_size = 10000;
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(storage::ListPage page, ctx.store->List(a.src, lo));
      for (auto& e : page.entries) out.push_back(std::move(e.name));
      if (page.next_token.empty()) break;
      lo.start_after = page.next_token;
    }
  }
  return out;
}

// Outcome of one name: done, not this target's (held and handled elsewhere), or an error.
enum class Outcome { kDone, kSkip };

Result<Outcome> DoOne(const ApiContext& ctx, const ListRangeArgs& a, const EtlChain& chain,
                      jobs::Job& job, const std::string& name) {
  etl::EtlInstance* inst = chain.empty() ? nullptr : chain.front().get();
  auto missing = [&]() -> Result<Outcome> {
    if (!OwnerIsMe(ctx, a.src, name)) return Outcome::kSkip;  // another target holds it
    return Status::NotFound(storage::ObjectCname(a.src, name) + " does not exist")
        .WithSubject(Subject::kObject);
  };
  if (a.action == "delete-listrange") {
    Status st = ctx.store->Delete(a.src, name);
    if (st.IsNotFound()) return missing();
    AISLE_RETURN_IF_ERROR(st);
    job.AddInput(1, 0);
    job.AddOutput(1, 0);
    return Outcome::kDone;
  }
  // With more copies every holder sees the name: the HRW owner among them does the work.
  if (ctx.cluster && ctx.cluster->CopiesOf(a.src) > 1 && !OwnerIsMe(ctx, a.src, name) &&
      ctx.store->Get(a.src, name).ok())
    return Outcome::kSkip;
  std::string data;
  if (!inst || !inst->transformer().PullsData()) {
    auto r = OpenVerified(ctx, a.src, name, true);  // a corrupt source is never copied
    if (!r.ok() && r.status().IsNotFound() && r.status().subject() != Subject::kBucket)
      return missing();
    if (!r.ok()) return r.status();
    AISLE_ASSIGN_OR_RETURN(data, storage::ReadObjectData(*r));
  } else if (!ctx.store->Get(a.src, name).ok()) {
    return missing();
  }
  job.AddInput(1, data.size());
  const std::string out_name = jobs::TcbDestName(a.prepend, a.ext, name);
  AISLE_ASSIGN_OR_RETURN(ChainOutput out,
                         RunChainFor(ctx, chain, std::move(data), a.src, name, a.etl_args,
                                     a.request_timeout_ms, a.dst, out_name, a.dry_run));
  if (out.delivered) {
    job.AddOutput(1, out.delivered_size);
    return Outcome::kDone;
  }
  AISLE_RETURN_IF_ERROR(jobs::WriteTcbOutput(ctx, a.dst, out_name, out.data, a.dry_run, job));
  return Outcome::kDone;
}

Status RunListRange(ApiContext ctx, const ListRangeArgs& a, const EtlChain& chain, jobs::Job& job) {
  AISLE_ASSIGN_OR_RETURN(std::vector<std::string> names, NamesHere(ctx, a, job));
  job.SetTotal(names.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<bool> stop{false};  // the first error ends the job without continue-on-error
  std::mutex mu;
  std::string first_error;
  int workers = a.workers > 0 ? a.workers
                              : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  workers = std::min<int>(workers, std::max<size_t>(1, names.size()));
  auto work = [&] {
    for (size_t i; !job.aborted() && !stop && (i = next.fetch_add(1)) < names.size();) {
      auto r = DoOne(ctx, a, chain, job, names[i]);
      if (r.ok()) continue;
      failed.fetch_add(1);
      std::string e = r.status().message();
      job.NoteError(e);
      job.Count("errors");
      if (!a.continue_on_error) {
        std::lock_guard<std::mutex> l(mu);
        if (first_error.empty()) first_error = e;
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (job.aborted()) return Status::Internal("aborted");
  if (!first_error.empty()) return Status::IOError(first_error);
  return Status::OK();
}

}  // namespace

bool IsListRangeAction(std::string_view action) {
  return action == "delete-listrange" || action == "copy-listrange" || action == "etl-listrange";
}

Result<ListRangeArgs> ParseListRange(const Request& req, std::string_view bucket,
                                     const ActionMsg& msg) {
  ListRangeArgs a;
  a.action = msg.action;
  a.src = std::string(bucket);
  const char* method = a.action == "delete-listrange" ? "DELETE" : "POST";
  if (req.method != method)
    return Status::InvalidArgument(a.action + " must be sent with " + method + ", not " +
                                   req.method);
  const json& v = *msg.value;
  if (!v.is_object())
    return Status::InvalidArgument(a.action +
                                   ": \"value\" must be an object with \"objnames\" or "
                                   "\"template\"");
  AISLE_RETURN_IF_ERROR(ParseSelection(v, a));
  a.continue_on_error = Bool(v, "coer") || Bool(v, "continue-on-err");
  if (a.action == "delete-listrange") return a;
  AISLE_RETURN_IF_ERROR(ParseTcb(v, a));
  AISLE_ASSIGN_OR_RETURN(a.dst, DestOf(req, msg));
  if (a.dst.empty())
    return Status::InvalidArgument(a.action + ": missing the destination bucket (\"tobck\")");
  AISLE_RETURN_IF_ERROR(CheckBucketName(a.dst));
  if (a.src == a.dst && a.prepend.empty() && a.ext.empty())
    return Status::InvalidArgument("source and destination are the same bucket ais://" + a.src +
                                   " and no renaming (prepend, ext) was given");
  return a;
}

void StartListRangeJob(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                       const ActionMsg& msg) {
  auto args = ParseListRange(req, bucket, msg);
  if (!args.ok()) return WriteError(req, resp, args.status(), ctx.node);
  auto no_bucket = [](const std::string& b) {
    return Status::NotFound("bucket \"ais://" + b + "\" does not exist")
        .WithSubject(Subject::kBucket);
  };
  if (!ctx.store->HeadBucket(args->src).ok())
    return WriteError(req, resp, no_bucket(args->src), ctx.node);
  EtlChain chain;
  if (!args->etl.empty()) {
    if (!ctx.etl) return WriteError(req, resp, 501, "this node runs no transforms", ctx.node);
    std::vector<std::string> names = {args->etl};
    names.insert(names.end(), args->pipeline.begin(), args->pipeline.end());
    auto r = AcquireChain(ctx, names);
    if (!r.ok()) return WriteError(req, resp, r.status(), ctx.node);
    chain = std::move(r).value();
  }
  if (!args->dst.empty() && !ctx.store->HeadBucket(args->dst).ok()) {
    if (ctx.cluster) (void)ctx.cluster->SyncMaps();  // created by the proxy a moment ago
    if (!ctx.cluster) (void)ctx.store->CreateBucket(args->dst);
    if (!ctx.store->HeadBucket(args->dst).ok())
      return WriteError(req, resp, no_bucket(args->dst), ctx.node);
  }
  ApiContext job_ctx = ctx;
  ListRangeArgs a = std::move(args).value();
  std::string kind = a.action, src = a.src, dst = a.dst;
  std::string id = ctx.jobs->Start(
      kind, src, dst,
      [job_ctx, a = std::move(a), chain](jobs::Job& job) {
        return RunListRange(job_ctx, a, chain, job);
      },
      req.Query("job_id").value_or(""));
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

}  // namespace aisle::api
