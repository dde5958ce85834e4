#include "server/jobs/job_handlers.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "server/api/action_msg.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/jobs/job_registry.h"
#include "server/jobs/scrub_job.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using jobs::JobSnapshot;
using jobs::JobState;

// AIStore "idle" semantics: a finished job is idle; a running one is not.
nlohmann::json StatusJson(const JobSnapshot& s) {
  return {{"kind", s.kind},
          {"uuid", s.id},
          {"err", s.state == JobState::kFailed ? s.error : std::string()},
          {"end_time", s.end_ns},
          {"aborted", s.state == JobState::kAborted},
          {"is_idle", s.state != JobState::kRunning}};
}

nlohmann::json BckJson(const std::string& b) {
  return {{"name", b}, {"provider", "ais"}, {"namespace", {{"uuid", ""}, {"name", ""}}}};
}

nlohmann::json SnapJson(const JobSnapshot& s) {
  return {{"id", s.id},
          {"kind", s.kind},
          {"bck", BckJson(s.bucket)},
          {"src-bck", BckJson(s.bucket)},
          {"dst-bck", BckJson(s.dst_bucket)},
          {"start-time", Rfc3339(s.start_ns)},
          {"end-time", Rfc3339(s.end_ns)},
          {"abort-err", s.state == JobState::kAborted ? s.error : std::string()},
          {"err", s.state == JobState::kFailed ? s.error : std::string()},
          {"glob.id", "0"},
          {"stats",
           {{"loc-objs", std::to_string(s.objects)},
            {"loc-bytes", std::to_string(s.bytes)},
            {"out-objs", std::to_string(s.out_objects)},
            {"out-bytes", std::to_string(s.out_bytes)},
            {"in-objs", "0"},
            {"in-bytes", "0"}}},
          {"aborted", s.state == JobState::kAborted},
          {"is_idle", s.state != JobState::kRunning},
          // Aisle extensions: end state, total to do, last (possibly non-fatal) error.
          {"state", jobs::JobStateName(s.state)},
          {"total-objs", std::to_string(s.total_objects)},
          {"last-err", s.error},
          {"ext", s.ext}};
}

std::string JStr(const nlohmann::json& o, const char* k) {
  const nlohmann::json* v = FindKey(o, k);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// AIStore's xaction start: {"action":"start","value":{"kind":K,"bck":{"name":B},"id"?}} (keys
// also capitalised, as in its ArgsMsg) + Aisle's "rate" (bytes/s). Only "scrub" starts here;
// other jobs start from their own routes (archive, copy-bck, etl-bck) or by themselves.
void StartJob(ApiContext& ctx, Request& req, Response& resp, const nlohmann::json& value) {
  auto str = [&](const char* a, const char* b) {
    std::string v = JStr(value, a);
    return v.empty() ? JStr(value, b) : v;
  };
  std::string kind = str("kind", "Kind");
  if (kind != "scrub")
    return WriteError(req, resp, 400,
                      "start: kind \"" + kind + "\" cannot be started this way (expecting scrub)",
                      ctx.node);
  ScrubArgs args;
  const nlohmann::json* bck = FindKey(value, "bck");
  if (!bck) bck = FindKey(value, "Bck");
  if (bck && bck->is_object()) args.bucket = JStr(*bck, "name");
  if (const nlohmann::json* r = FindKey(value, "rate"); r) {
    if (!r->is_number_unsigned())
      return WriteError(req, resp, 400, "start: rate must be a non-negative integer (bytes/s)",
                        ctx.node);
    args.rate_bps = r->get<uint64_t>();
  }
  if (!args.bucket.empty()) {
    if (Status st = CheckBucketName(args.bucket); !st.ok())
      return WriteError(req, resp, st, ctx.node);
  }
  auto id = StartScrub(ctx, args, str("id", "ID"));
  if (!id.ok()) return WriteError(req, resp, id.status(), ctx.node);
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = *id;
}

}  // namespace

bool IsJobRequest(const Request& req, std::string_view tail) {
  if (!tail.empty()) return false;
  if (req.method == "PUT") return true;
  std::string what = req.Query("what").value_or("");
  return req.method == "GET" &&
         (what == "status" || what == "status_all" || what == "running_all" || what == "qryxstats");
}

void HandleJobs(ApiContext& ctx, Request& req, Response& resp) {
  auto body = req.ReadBody(1 << 20);
  if (!body.ok()) return WriteError(req, resp, body.status(), ctx.node);
  nlohmann::json q = body->find_first_not_of(" \t\r\n") == std::string::npos
                         ? nlohmann::json::object()
                         : nlohmann::json::parse(*body, nullptr, false);
  if (q.is_discarded() || !q.is_object())
    return WriteError(req, resp, 400, "malformed JSON in the request body", ctx.node);
  jobs::Registry& reg = *ctx.jobs;

  if (req.method == "PUT") {
    std::string action = JStr(q, "action");
    const nlohmann::json* v = FindKey(q, "value");
    nlohmann::json value = v ? *v : nlohmann::json::object();
    if (action == "start") return StartJob(ctx, req, resp, value);
    if (action == "stop") {
      std::string id = JStr(value, "ID");
      std::string kind = JStr(value, "Kind");
      if (id.empty()) {
        if (kind.empty())
          return WriteError(req, resp, 400, "stop: need value.ID or value.Kind", ctx.node);
        for (const auto& s : reg.List(kind, true)) (void)reg.Abort(s.id);
        return;
      }
      Status st = reg.Abort(id);
      if (!st.ok()) return WriteError(req, resp, st, ctx.node);
      return;
    }
    return WriteError(
        req, resp, 400,
        "invalid action \"" + action + "\" on /v1/cluster (this node supports: start, stop)",
        ctx.node);
  }
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", ctx.node);
  std::string what = req.Query("what").value_or("");
  std::string id = JStr(q, "id");
  std::string kind = JStr(q, "kind");
  const nlohmann::json* active = FindKey(q, "show_active");
  bool only_running = active && active->is_boolean() && active->get<bool>();
  nlohmann::json out;
  if (what == "status") {
    std::optional<JobSnapshot> s;
    if (!id.empty())
      s = reg.Get(id);
    else if (!kind.empty()) {
      auto all = reg.List(kind, false);
      if (!all.empty()) s = all.front();
    }
    if (!s) {
      return WriteError(req, resp, 404, "job \"" + (id.empty() ? kind : id) + "\" not found",
                        ctx.node);
    }
    out = StatusJson(*s);
  } else if (what == "status_all") {
    out = nlohmann::json::array();
    for (const auto& s : reg.List(kind, only_running))
      if (id.empty() || s.id == id) out.push_back(StatusJson(s));
  } else if (what == "running_all") {
    out = nlohmann::json::array();
    for (const auto& s : reg.List(kind, true)) out.push_back(s.kind + "[" + s.id + "]");
  } else {  // qryxstats
    nlohmann::json snaps = nlohmann::json::array();
    for (const auto& s : reg.List(kind, only_running))
      if (id.empty() || s.id == id) snaps.push_back(SnapJson(s));
    if (!id.empty() && snaps.empty())
      return WriteError(req, resp, 404, "job \"" + id + "\" not found", ctx.node);
    out = {{ctx.node.id, std::move(snaps)}};
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace aisle::api
