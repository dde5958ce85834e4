// ProxyEtl's routes; each registry change runs at the primary (others forward it there).
#include "server/etl/proxy_etl.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "etl/etl_msg.h"
#include "server/api/action_msg.h"
#include "server/api/errors.h"
#include "server/api/proxy_forward.h"
#include "server/cluster/fan_out.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_handlers.h"
#include "server/storage/file_util.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxInitBody = 64 << 20;  // init messages carry user code

void WriteJson(Response& resp, const json& j) {
  resp.headers.Set("Content-Type", "application/json");
  resp.body = j.dump();
}

int StageRank(const std::string& s) {
  return s == "Aborted" ? 3 : s == "Initializing" ? 2 : s == "Stopped" ? 1 : 0;
}

Status MissingEtl(const std::string& name) {
  return Status::NotFound("etl job " + name + " does not exist");
}

// A target's refusal (its error message) or why it could not be asked.
std::string FailureOf(const Result<HttpResponse>& r) {
  return r.ok() ? cluster::RemoteErrorMessage(*r) : r.status().message();
}

}  // namespace

Status ProxyEtl::WaitRunning(const std::string& name, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    bool all_running = true;
    for (auto& a : cluster::AskTargets(*cluster_, node_.id, "GET", "/v1/etl/" + name)) {
      if (!a.resp.ok() || a.resp->status != 200) {
        all_running = false;  // not applied yet, or unreachable for a moment
        continue;
      }
      json j = json::parse(a.resp->body, nullptr, false);
      std::string stage = j.is_object() ? j.value("stage", "") : "";
      if (stage == "Aborted")
        return Status::InvalidArgument("etl " + name + ": failed on target " + a.id + ": " +
                                       j.value("error", std::string("unknown error")));
      if (stage != "Running") all_running = false;
    }
    if (all_running) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Timeout("etl " + name + ": not running on every target within " +
                             std::to_string(timeout_ms / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ProxyEtl::Handle(Request& req, Response& resp, std::string_view tail) {
  while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
  std::string name(tail.substr(0, tail.find('/')));
  std::string sub =
      tail.find('/') == std::string_view::npos ? "" : std::string(tail.substr(tail.find('/') + 1));
  bool mutation = req.method != "GET" && req.method != "HEAD";
  auto body = req.ReadBody(kMaxInitBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), node_);
  if (mutation && !cluster_->is_primary())
    return ForwardToPrimary(*cluster_, node_, req, resp, *body);
  auto etlmd = cluster_->etlmd();

  if (name.empty() && (req.method == "PUT" || req.method == "POST")) return Init(req, resp, *body);
  if (name.empty() && req.method == "GET") return List(resp, *etlmd);
  auto entry = etlmd->etls.find(name);
  if (entry == etlmd->etls.end()) return WriteError(req, resp, MissingEtl(name), node_);

  if (req.method == "DELETE" && sub.empty()) return Delete(req, resp, name);
  if (req.method == "POST" && (sub == "stop" || sub == "start"))
    return StopOrStart(req, resp, name, sub == "start", entry->second);
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed here", node_);
  if (sub.empty()) return Details(resp, name, entry->second);
  if (sub == "logs" || sub.rfind("logs/", 0) == 0 || sub == "health" || sub == "metrics")
    return Logs(req, resp, name, sub);
  WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node_);
}

// Registers the ETL cluster-wide, then waits until every target runs it; one that cannot
// start it takes the registration back, so a failed init leaves nothing behind.
void ProxyEtl::Init(Request& req, Response& resp, const std::string& body) {
  auto fail = [&](const Status& st) { WriteError(req, resp, st, node_); };
  auto spec = etl::ParseInitMsg(body);
  if (!spec.ok()) return fail(spec.status());
  std::string n = spec->name;
  Status st = cluster_->UpdateEtlMd([&](cluster::EtlMd& md) {
    if (md.etls.count(n)) return Status::AlreadyExists("etl job " + n + " already exists");
    md.etls[n] = {body, true};
    return Status::OK();
  });
  if (!st.ok()) return fail(st);
  st = WaitRunning(n, spec->init_timeout_ms + 5000);
  if (!st.ok()) {
    (void)cluster_->UpdateEtlMd([&](cluster::EtlMd& md) {
      md.etls.erase(n);
      return Status::OK();
    });
    return fail(st);
  }
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = "etl-" + n;
}

// Every registered ETL with its targets' counters added and the worst stage any target
// reports (an ETL being deleted is left out even while a target still lists it).
void ProxyEtl::List(Response& resp, const cluster::EtlMd& etlmd) {
  std::map<std::string, json> by_name;
  for (const auto& [n, e] : etlmd.etls)
    by_name[n] = {{"id", n},
                  {"stage", e.running ? "Initializing" : "Stopped"},
                  {"xaction_id", "etl-" + n},
                  {"obj_count", 0},
                  {"in_bytes", 0},
                  {"out_bytes", 0}};
  bool first = true;
  for (auto& a : cluster::AskTargets(*cluster_, node_.id, "GET", "/v1/etl")) {
    if (!a.resp.ok() || a.resp->status != 200) continue;
    json arr = json::parse(a.resp->body, nullptr, false);
    if (!arr.is_array()) continue;
    for (const auto& j : arr) {
      std::string n = j.value("id", "");
      if (!by_name.count(n)) continue;  // being deleted
      json& m = by_name[n];
      for (const char* k : {"obj_count", "in_bytes", "out_bytes"})
        m[k] = m[k].get<uint64_t>() + j.value(k, uint64_t{0});
      std::string stage = j.value("stage", "");
      if (first || StageRank(stage) > StageRank(m["stage"].get<std::string>())) m["stage"] = stage;
      if (!j.value("error", std::string()).empty()) m["error"] = j["error"];
    }
    first = false;
  }
  json out = json::array();
  for (auto& [n, j] : by_name) out.push_back(std::move(j));
  WriteJson(resp, out);
}

void ProxyEtl::Delete(Request& req, Response& resp, const std::string& name) {
  Status st = cluster_->UpdateEtlMd(
      [&](cluster::EtlMd& md) { return md.etls.erase(name) ? Status::OK() : MissingEtl(name); });
  if (!st.ok()) WriteError(req, resp, st, node_);
}

// Start waits like init does (its time limit from the init message); stop does not wait.
void ProxyEtl::StopOrStart(Request& req, Response& resp, const std::string& name, bool run,
                           const cluster::EtlMdEntry& entry) {
  Status st = cluster_->UpdateEtlMd([&](cluster::EtlMd& md) {
    auto it = md.etls.find(name);
    if (it == md.etls.end()) return MissingEtl(name);
    it->second.running = run;
    return Status::OK();
  });
  if (st.ok() && run) {
    auto spec = etl::ParseInitMsg(entry.msg);
    st = WaitRunning(name, (spec.ok() ? spec->init_timeout_ms : 45000) + 5000);
  }
  if (!st.ok()) WriteError(req, resp, st, node_);
}

// One ETL's details: the init message, per-target state, object errors.
void ProxyEtl::Details(Response& resp, const std::string& name, const cluster::EtlMdEntry& entry) {
  json msg = json::parse(entry.msg, nullptr, false);
  json out = {{"init_msg", msg.is_discarded() ? json(entry.msg) : msg},
              {"obj_errors", json::array()},
              {"targets", json::array()},
              {"running", entry.running}};
  std::string stage;
  for (auto& a : cluster::AskTargets(*cluster_, node_.id, "GET", "/v1/etl/" + name)) {
    if (!a.resp.ok() || a.resp->status != 200) {
      out["targets"].push_back({{"target_id", a.id}, {"error", FailureOf(a.resp)}});
      continue;
    }
    json j = json::parse(a.resp->body, nullptr, false);
    if (!j.is_object()) continue;
    for (auto& e : j["obj_errors"]) out["obj_errors"].push_back(e);
    std::string s = j.value("stage", "");
    if (stage.empty() || StageRank(s) > StageRank(stage)) stage = s;
    j.erase("init_msg");
    j.erase("obj_errors");
    out["targets"].push_back(std::move(j));
  }
  out["stage"] = stage;
  WriteJson(resp, out);
}

// logs, logs/TARGET, health or metrics: the targets' arrays concatenated (health also names
// the targets that did not answer).
void ProxyEtl::Logs(Request& req, Response& resp, const std::string& name, const std::string& sub) {
  std::string only = sub.rfind("logs/", 0) == 0 ? sub.substr(5) : "";
  std::string leaf = only.empty() ? sub : "logs";
  json out = json::array();
  for (auto& a : cluster::AskTargets(*cluster_, node_.id, "GET", "/v1/etl/" + name + "/" + leaf)) {
    if (!only.empty() && a.id != only) continue;
    if (!a.resp.ok() || a.resp->status != 200) {
      std::string why = FailureOf(a.resp);
      if (leaf == "health") out.push_back({{"target_id", a.id}, {"health_status", why}});
      continue;
    }
    json arr = json::parse(a.resp->body, nullptr, false);
    if (arr.is_array())
      for (auto& e : arr) out.push_back(std::move(e));
  }
  if (!only.empty() && out.empty())
    return WriteError(
        req, resp, Status::NotFound("target " + only + " has no logs for etl job " + name), node_);
  WriteJson(resp, out);
}

void ProxyEtl::StartBucketJob(Request& req, Response& resp, std::string_view bucket,
                              const std::string& body) {
  auto fail = [&](const Status& st) { WriteError(req, resp, st, node_); };
  auto msg = ParseActionMsg(body);
  if (!msg.ok()) return fail(msg.status());
  if (!cluster_->bmd()->buckets.count(std::string(bucket)))
    return fail(Status::NotFound("bucket \"ais://" + std::string(bucket) + "\" does not exist")
                    .WithSubject(Subject::kBucket));
  std::string dst = DestBucketOf(req, *msg);
  if (dst.empty())
    return fail(
        Status::InvalidArgument("missing destination bucket (?bck_to=ais://DST or \"name\")"));
  if (Status st = CheckBucketName(dst); !st.ok()) return fail(st);
  if (Status st = CheckTcbSync(*msg->value); !st.ok()) return fail(st);
  if (msg->action == "etl-bck") {
    const json& v = *msg->value;
    std::string etl_name = v.is_object() ? v.value("id", std::string()) : "";
    if (etl_name.empty())
      return fail(Status::InvalidArgument("etl-bck: missing the ETL name (\"id\")"));
    if (!cluster_->etlmd()->etls.count(etl_name)) return fail(MissingEtl(etl_name));
    auto pipeline = ParseTcbPipeline(v);
    if (!pipeline.ok()) return fail(pipeline.status());
    for (const auto& n : *pipeline)
      if (!cluster_->etlmd()->etls.count(n)) return fail(MissingEtl(n));
    if (auto t = ParseTcbTimeout(v); !t.ok()) return fail(t.status());
  }
  if (!cluster_->bmd()->buckets.count(dst)) {
    Status st = cluster_->CreateBucket(dst, 1);
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return fail(st);
  }
  // One id on every target, so job queries through the proxy see one job.
  std::string id = "tcb-" + storage::RandomHex(8);
  std::string target =
      req.target + (req.target.find('?') == std::string::npos ? "?" : "&") + "job_id=" + id;
  bool started = false;
  std::string error;
  for (auto& a : cluster::AskTargets(*cluster_, node_.id, "POST", target, body)) {
    if (a.resp.ok() && a.resp->status == 200) {
      started = true;
      continue;
    }
    error = "target " + a.id + ": " + FailureOf(a.resp);
  }
  if (!error.empty()) {
    if (started)  // stop the parts that did start
      (void)cluster::AskTargets(*cluster_, node_.id, "PUT", "/v1/cluster",
                                json{{"action", "stop"}, {"value", {{"ID", id}}}}.dump());
    return fail(Status::InvalidArgument(error));
  }
  if (!started) return fail(Status::Unavailable("no target is online"));
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

}  // namespace aisle::api
