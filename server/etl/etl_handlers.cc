#include "server/etl/etl_handlers.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/net/http_client.h"
#include "etl/etl_manager.h"
#include "etl/etl_msg.h"
#include "server/api/byte_range.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_chain.h"
#include "server/shards/archive_handlers.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxControlBody = 1 << 20;
// Inline transforms hold the object in memory; bigger objects need an offline job.
constexpr uint64_t kMaxInlineInput = uint64_t{1} << 30;

std::string NonEmpty(const Request& req, const char* name) { return req.Query(name).value_or(""); }

json StatusJson(const etl::EtlStatus& s, const std::string& tid) {
  json errs = json::array();
  for (const auto& e : s.obj_errors)
    errs.push_back(
        {{"obj_name", e.object}, {"msg", e.message}, {"ecode", HttpStatusFor(Status(e.code, ""))}});
  json msg = json::parse(s.msg, nullptr, false);
  return {{"id", s.name},
          {"stage", etl::StageName(s.stage)},
          {"xaction_id", "etl-" + s.name},
          {"obj_count", s.obj_count},
          {"in_bytes", s.in_bytes},
          {"out_bytes", s.out_bytes},
          {"errors", s.errors},
          {"comm", s.comm},
          {"error", s.error},
          {"target_id", tid},
          {"init_msg", msg.is_discarded() ? json(s.msg) : msg},
          {"obj_errors", errs}};
}

void WriteJson(Response& resp, const json& j) {
  resp.headers.Set("Content-Type", "application/json");
  resp.body = j.dump();
}

}  // namespace

void HandleEtl(ApiContext& ctx, Request& req, Response& resp, std::string_view tail) {
  if (!ctx.etl) return WriteError(req, resp, 501, "this node runs no transforms", ctx.node);
  if (tail.substr(0, 8) == "_object/") return HandleDirectPut(ctx, req, resp, tail.substr(8));
  // Clustered targets: the registry lives at the primary; clients are sent there.
  if (RedirectBucketToPrimary(ctx, req, resp)) return;
  while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
  std::string name(tail.substr(0, tail.find('/')));
  std::string sub =
      tail.find('/') == std::string_view::npos ? "" : std::string(tail.substr(tail.find('/') + 1));
  bool standalone = ctx.cluster == nullptr;
  auto fail = [&](const Status& st) { WriteError(req, resp, st, ctx.node); };

  if (name.empty()) {
    if (req.method == "GET") {
      json arr = json::array();
      for (const auto& s : ctx.etl->List()) {
        json j = StatusJson(s, ctx.node.id);
        j.erase("init_msg");
        j.erase("obj_errors");
        arr.push_back(std::move(j));
      }
      return WriteJson(resp, arr);
    }
    if (req.method == "PUT" || req.method == "POST") {
      if (!standalone)
        return WriteError(req, resp, 400, "initialize ETLs through the proxy", ctx.node);
      auto body = req.ReadBody(64 << 20);
      if (!body.ok()) return fail(body.status());
      auto name = ctx.etl->Init(*body);
      if (!name.ok()) return fail(name.status());
      resp.headers.Set("Content-Type", "text/plain");
      resp.body = "etl-" + *name;
      return;
    }
    return WriteError(req, resp, 405, "method " + req.method + " not allowed on /v1/etl", ctx.node);
  }
  if (req.method == "DELETE" && sub.empty()) {
    if (!standalone) return WriteError(req, resp, 400, "delete ETLs through the proxy", ctx.node);
    if (Status st = ctx.etl->Delete(name); !st.ok()) return fail(st);
    return;
  }
  if (req.method == "POST" && (sub == "stop" || sub == "start")) {
    if (!standalone) return WriteError(req, resp, 400, sub + " ETLs through the proxy", ctx.node);
    if (Status st = ctx.etl->SetRunning(name, sub == "start"); !st.ok()) return fail(st);
    if (sub == "start") {
      auto r = ctx.etl->WaitReady(name, 60'000);
      if (r.ok() && r->stage == etl::Stage::kError)
        return WriteError(req, resp, 400, r->error, ctx.node);
    }
    return;
  }
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed here", ctx.node);
  auto s = ctx.etl->Get(name, sub == "logs");
  if (!s.ok()) return fail(s.status());
  if (sub.empty()) return WriteJson(resp, StatusJson(*s, ctx.node.id));
  if (sub == "logs" || sub.rfind("logs/", 0) == 0)
    return WriteJson(resp,
                     json::array({{{"target_id", ctx.node.id}, {"logs", Base64Encode(s->logs)}}}));
  if (sub == "health")
    return WriteJson(
        resp,
        json::array(
            {{{"target_id", ctx.node.id},
              {"health_status",
               s->stage == etl::Stage::kRunning && s->health.empty()
                   ? std::string("Running")
                   : (s->health.empty() ? std::string(etl::StageName(s->stage)) : s->health)}}}));
  if (sub == "metrics") {
    auto u = ctx.etl->Usage(name);
    if (!u.ok()) return fail(u.status());
    return WriteJson(resp, json::array({{{"target_id", ctx.node.id},
                                         {"cpu", u->cpu_cores},
                                         {"mem", u->rss_bytes},
                                         {"processes", u->processes},
                                         {"obj_count", s->obj_count},
                                         {"in_bytes", s->in_bytes},
                                         {"out_bytes", s->out_bytes},
                                         {"errors", s->errors}}}));
  }
  WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", ctx.node);
}

bool IsEtlRequest(const Request& req) {
  return !NonEmpty(req, "etl_name").empty() || !NonEmpty(req, "etl_pipeline").empty();
}

namespace {

// The bytes of an object (whole) for an inline transform.
Result<std::string> ReadObjectBytes(ApiContext& ctx, std::string_view bucket,
                                    std::string_view object) {
  AISLE_ASSIGN_OR_RETURN(storage::ObjectReader r, ctx.store->Get(bucket, object));
  if (r.meta.size > kMaxInlineInput)
    return Status::TooLarge(storage::ObjectCname(bucket, object) + " is " +
                            std::to_string(r.meta.size) +
                            " bytes: too large for an inline transform (use an offline job)");
  return storage::ReadObjectData(r);
}

}  // namespace

Result<std::string> InlineTransform(const std::shared_ptr<etl::EtlInstance>& inst,
                                    std::string_view data, std::string_view bucket,
                                    const std::string& name, const std::string& args) {
  AISLE_ASSIGN_OR_RETURN(ChainOutput out, RunChain({inst}, std::string(data),
                                                   {std::string(bucket), name, args, 0, ""}));
  return std::move(out.data);
}

void HandleEtlObject(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object) {
  if (req.method != "GET" && req.method != "HEAD")
    return WriteError(req, resp, 405, "etl_name applies to GET and HEAD only", ctx.node);
  if (!ctx.etl) return WriteError(req, resp, 501, "this node runs no transforms", ctx.node);
  std::vector<std::string> names;
  if (std::string n = NonEmpty(req, "etl_name"); !n.empty()) names.push_back(n);
  std::string pipeline = NonEmpty(req, "etl_pipeline");
  for (size_t pos = 0; pos < pipeline.size();) {
    size_t comma = pipeline.find(',', pos);
    if (comma == std::string::npos) comma = pipeline.size();
    if (comma > pos) names.push_back(pipeline.substr(pos, comma - pos));
    pos = comma + 1;
  }
  auto acquired = AcquireChain(ctx, names);
  if (!acquired.ok()) return WriteError(req, resp, acquired.status(), ctx.node);
  const EtlChain& chain = *acquired;
  std::string args = NonEmpty(req, "etl_args");
  std::string archpath = NonEmpty(req, "archpath");
  etl::Transformer& first = chain.front()->transformer();

  // hpull: the client fetches the result from the program itself, which pulls from us.
  if (chain.size() == 1 && archpath.empty() && chain.front()->spec().comm == etl::Comm::kHpull &&
      req.method == "GET") {
    resp.status = 307;
    std::string loc = first.ProgramUrl() + "/" + EscapeComponent(bucket) + "/" + EscapePath(object);
    if (!args.empty()) loc += "?etl_args=" + EscapeComponent(args);
    resp.headers.Set("Location", loc);
    return;
  }

  std::string data;
  std::string name(object);
  if (!archpath.empty()) {
    auto m = ReadMemberBytes(ctx, bucket, object, archpath, kMaxInlineInput);
    if (!m.ok()) return WriteError(req, resp, m.status(), ctx.node);
    data = std::move(m).value();
    name += "/" + archpath;
  } else if (!first.PullsData()) {
    auto d = ReadObjectBytes(ctx, bucket, object);
    if (!d.ok() && d.status().IsNotFound() && ctx.cluster &&
        RedirectToHolder(ctx, req, resp, bucket, object))
      return;
    if (!d.ok()) {
      Status st = d.status();
      if (st.IsNotFound() && st.subject() != Subject::kBucket) st = st.WithContext(ctx.node.Name());
      return WriteError(req, resp, st, ctx.node);
    }
    data = std::move(d).value();
  } else if (!ctx.store->Get(bucket, object).ok()) {
    return WriteError(req, resp,
                      Status::NotFound(ctx.node.Name() + ": " +
                                       storage::ObjectCname(bucket, object) + " does not exist"),
                      ctx.node);
  }
  {
    auto out = RunChain(chain, std::move(data), {std::string(bucket), name, args, 0, ""});
    if (out.status().code() == StatusCode::kTimeout)  // the transform, not the client, was slow
      return WriteError(req, resp, 504, out.status().message(), ctx.node);
    if (!out.ok()) return WriteError(req, resp, out.status(), ctx.node);
    data = std::move(out->data);
  }
  auto range = ApplyRange(req, resp, data.size(), MultiRange::kRefuse,
                          [&](const Status& st) { WriteError(req, resp, st, ctx.node); });
  if (!range.ok()) return;
  resp.headers.Add("Content-Type", "application/octet-stream");
  resp.headers.Add("Accept-Ranges", "bytes");
  if (req.method == "HEAD") {
    resp.head_length = range->length;
    return;
  }
  resp.body = range->start == 0 && range->length == data.size()
                  ? std::move(data)
                  : data.substr(range->start, range->length);
}

namespace {

// The TCBMsg field `key`, at the top level or in the nested "transform" object; null if absent.
const json* TcbField(const json& v, const char* key) {
  if (!v.is_object()) return nullptr;
  if (v.contains(key) && !v[key].is_null()) return &v[key];
  if (v.contains("transform") && v["transform"].is_object() && v["transform"].contains(key) &&
      !v["transform"][key].is_null())
    return &v["transform"][key];
  return nullptr;
}

}  // namespace

Result<std::vector<std::string>> ParseTcbPipeline(const json& value) {
  std::vector<std::string> out;
  const json* p = TcbField(value, "pipeline");
  if (!p) return out;
  if (!p->is_array()) return Status::InvalidArgument("\"pipeline\" must be a list of ETL names");
  for (const auto& e : *p) {
    if (!e.is_string() || e.get<std::string>().empty())
      return Status::InvalidArgument("\"pipeline\" must be a list of non-empty ETL names");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<int64_t> ParseTcbTimeout(const json& value) {
  const json* t = TcbField(value, "request_timeout");
  if (!t) return int64_t{0};
  if (t->is_number_integer() && t->get<int64_t>() >= 0) return t->get<int64_t>() / 1'000'000;
  if (!t->is_string())
    return Status::InvalidArgument("\"request_timeout\" must be a duration (\"30s\")");
  if (t->get<std::string>().empty()) return int64_t{0};
  auto ms = etl::ParseDurationMs(t->get<std::string>());
  if (!ms.ok()) return Status::InvalidArgument("\"request_timeout\": " + ms.status().message());
  return *ms;
}

Status CheckTcbSync(const json& value) {
  if (!value.is_object()) return Status::OK();
  const json* sync = TcbField(value, "synchronize");
  const json* prepend = TcbField(value, "prepend");
  if (sync && sync->is_boolean() && sync->get<bool>() && prepend && prepend->is_string() &&
      !prepend->get<std::string>().empty())
    return Status::InvalidArgument("prepend option (\"" + prepend->get<std::string>() +
                                   "\") is incompatible with the request to synchronize buckets");
  return Status::OK();
}

std::string DestBucketOf(const Request& req, const ActionMsg& msg) {
  std::string to = NonEmpty(req, "bck_to");
  if (to.empty()) return msg.name;
  // "ais/@#/dst/" (provider, namespace, name) or "ais://dst" or "dst".
  if (to.rfind("ais://", 0) == 0) to = to.substr(6);
  while (!to.empty() && to.back() == '/') to.pop_back();
  size_t slash = to.rfind('/');
  return slash == std::string::npos ? to : to.substr(slash + 1);
}

}  // namespace aisle::api
