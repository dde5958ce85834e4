// aisle job ls|show|wait|abort|start: jobs through AIStore's /v1/cluster xaction API.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/uri.h"
#include "common/net/http_client.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

Result<json> Query(const CliContext& ctx, const std::string& what, const json& body) {
  HttpRequest req;
  req.url = ctx.endpoint + "/v1/cluster?what=" + what;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = body.dump();
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, ctx.cluster->Do(req));
  if (r.status / 100 != 2) return StatusFromHttpError(r, "GET");
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed reply to what=" + what);
  return j;
}

// All snaps of all nodes, flattened.
Result<std::vector<json>> Snaps(const CliContext& ctx, const json& q) {
  AISLE_ASSIGN_OR_RETURN(json j, Query(ctx, "qryxstats", q));
  std::vector<json> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    for (auto& s : it.value()) out.push_back(s);
  return out;
}

uint64_t Num(const json& s, const char* k) {
  const json& v = s["stats"][k];
  return v.is_string() ? std::stoull(v.get<std::string>()) : 0;
}

std::vector<std::string> Row(const json& s) {
  return {s.value("id", ""),
          s.value("kind", ""),
          s.value("state", s.value("is_idle", false) ? "finished" : "running"),
          std::to_string(Num(s, "loc-objs")) + "/" + s.value("total-objs", "?"),
          FormatBytes(Num(s, "loc-bytes")),
          std::to_string(Num(s, "out-objs")),
          s.value("start-time", ""),
          s.value("last-err", "")};
}

// One snap with the counters of all parts of a job (a cluster-wide job has one per target).
json SumSnaps(const std::vector<json>& snaps) {
  json sum = snaps.front();
  uint64_t total = 0;
  for (const char* k : {"loc-objs", "loc-bytes", "out-objs", "out-bytes"}) {
    uint64_t n = 0;
    for (const auto& s : snaps) n += Num(s, k);
    sum["stats"][k] = std::to_string(n);
  }
  for (const auto& s : snaps) total += std::stoull(s.value("total-objs", "0"));
  json ext = json::object();  // kind-specific counters add up too (e.g. scrub's corrupt)
  for (const auto& s : snaps)
    if (s.contains("ext") && s["ext"].is_object())
      for (auto it = s["ext"].begin(); it != s["ext"].end(); ++it)
        if (it.value().is_number_unsigned())
          ext[it.key()] = ext.value(it.key(), uint64_t{0}) + it.value().get<uint64_t>();
  sum["ext"] = ext;
  sum["total-objs"] = std::to_string(total);
  // One state for the job: running while any part runs, else the worst ending.
  auto rank = [](const std::string& st) {
    return st == "running" ? 3 : st == "failed" ? 2 : st == "aborted" ? 1 : 0;
  };
  for (const auto& s : snaps) {
    std::string st = s.value("state", "");
    if (rank(st) > rank(sum.value("state", ""))) sum["state"] = st;
    if (sum.value("last-err", "").empty() && !s.value("last-err", "").empty())
      sum["last-err"] = s["last-err"];
  }
  return sum;
}

// Per-target snaps of one job id become one row, in first-seen (newest first) order.
std::vector<json> ByJob(const std::vector<json>& snaps) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<json>> parts;
  for (const auto& s : snaps) {
    std::string id = s.value("id", "");
    if (!parts.count(id)) order.push_back(id);
    parts[id].push_back(s);
  }
  std::vector<json> out;
  for (const auto& id : order) out.push_back(SumSnaps(parts[id]));
  return out;
}

// The jobs a query matches, one row per job (JSON: every node's snaps as they are).
int PrintJobs(const CliContext& ctx, const json& q) {
  auto snaps = Snaps(ctx, q);
  if (!snaps.ok()) return Fail(snaps.status());
  if (ctx.json) {
    PrintJson(*snaps);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{
      {"ID", "KIND", "STATE", "OBJECTS", "BYTES", "OUT", "STARTED", "ERROR"}};
  for (const auto& s : ByJob(*snaps)) rows.push_back(Row(s));
  PrintTable(rows);
  return kExitOk;
}

int RunAbort(const CliContext& ctx, const std::string& id) {
  HttpRequest req;
  req.method = "PUT";
  req.url = ctx.endpoint + "/v1/cluster";
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json({{"action", "stop"}, {"value", {{"ID", id}}}}).dump();
  auto r = ctx.cluster->Do(req);
  if (!r.ok()) return Fail(r.status());
  if (r->status / 100 != 2) return Fail(StatusFromHttpError(*r, "PUT"));
  if (!ctx.json) std::printf("Abort requested for job %s\n", id.c_str());
  return kExitOk;
}

// aisle job start scrub [ais://B] [--rate N] [--wait]: every target re-hashes its objects.
int RunStart(const CliContext& ctx, const std::string& kind, const std::string& bucket_arg,
             uint64_t rate, bool wait) {
  if (kind != "scrub") return Fail("job start: unknown kind \"" + kind + "\" (expecting scrub)");
  json value = {{"kind", kind}, {"rate", rate}};
  if (!bucket_arg.empty()) {
    auto b = ParseBucketArg(bucket_arg);
    if (!b.ok()) return Fail(b.status());
    value["bck"] = json{{"name", *b}, {"provider", "ais"}};
  }
  HttpRequest req;
  req.method = "PUT";
  req.url = ctx.endpoint + "/v1/cluster";
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json({{"action", "start"}, {"value", value}}).dump();
  auto r = ctx.cluster->Do(req);
  if (!r.ok()) return Fail(r.status());
  if (r->status / 100 != 2) return Fail(StatusFromHttpError(*r, "PUT"));
  std::string id = r->body;
  if (!wait) {
    if (ctx.json)
      PrintJson({{"job", id}});
    else
      std::printf("Started %s job %s\n", kind.c_str(), id.c_str());
    return kExitOk;
  }
  int rc = WaitJob(ctx, id, 0);
  auto snaps = Snaps(ctx, {{"id", id}});
  if (!ctx.json && snaps.ok() && !snaps->empty()) {
    json ext = SumSnaps(*snaps)["ext"];
    std::printf(
        "Scrub %s: %llu objects checked (%s), %llu corrupt, %llu repaired, "
        "%llu index sidecars checked, %llu bad\n",
        id.c_str(), static_cast<unsigned long long>(ext.value("checked", uint64_t{0})),
        FormatBytes(ext.value("bytes", uint64_t{0})).c_str(),
        static_cast<unsigned long long>(ext.value("corrupt", uint64_t{0})),
        static_cast<unsigned long long>(ext.value("repaired", uint64_t{0})),
        static_cast<unsigned long long>(ext.value("sidecars", uint64_t{0})),
        static_cast<unsigned long long>(ext.value("sidecars-bad", uint64_t{0})));
  }
  return rc;
}

}  // namespace

int WaitJob(const CliContext& ctx, const std::string& id, int timeout_s) {
  auto start = std::chrono::steady_clock::now();
  bool tty = !ctx.json && ::isatty(STDERR_FILENO);
  std::unique_ptr<Progress> bar;
  json last;
  for (;;) {
    auto st = Query(ctx, "status", {{"ID", id}});
    if (!st.ok()) return Fail(st.status());
    auto snaps = Snaps(ctx, {{"id", id}});
    if (snaps.ok() && !snaps->empty()) {
      last = SumSnaps(*snaps);  // a cluster-wide job has one snap per target
      uint64_t total = std::stoull(last.value("total-objs", "0"));
      if (!bar && total) bar = std::make_unique<Progress>(last.value("kind", "job"), total, 0, tty);
      if (bar) {
        int64_t bytes = static_cast<int64_t>(Num(last, "loc-bytes"));
        bar->AddBytes(bytes - static_cast<int64_t>(bar->bytes()));
        while (bar->done() < Num(last, "loc-objs")) bar->ObjectDone(true);
      }
    }
    if ((*st)["end_time"].get<int64_t>() != 0) {
      if (bar) bar->Finish();
      std::string err = (*st).value("err", "");
      bool aborted = (*st).value("aborted", false);
      if (ctx.json) {
        PrintJson(last.is_null() ? *st : last);
      } else if (err.empty() && !aborted) {
        std::printf("Job %s finished: %llu objects, %s -> %llu written\n", id.c_str(),
                    static_cast<unsigned long long>(last.is_null() ? 0 : Num(last, "loc-objs")),
                    FormatBytes(last.is_null() ? 0 : Num(last, "loc-bytes")).c_str(),
                    static_cast<unsigned long long>(last.is_null() ? 0 : Num(last, "out-objs")));
      }
      if (aborted) return Fail("job " + id + " was aborted");
      if (!err.empty()) return Fail("job " + id + " failed: " + err);
      return kExitOk;
    }
    if (timeout_s > 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(timeout_s))
      return Fail("job " + id + " still running after " + std::to_string(timeout_s) + "s");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void RegisterJobCommands(CLI::App* app, CliContext* ctx, Action* action) {
  CLI::App* job = app->add_subcommand("job", "Jobs: list, show, wait, abort, start");
  job->require_subcommand(1);
  auto* ls = job->add_subcommand("ls", "List jobs (newest first)");
  auto running = std::make_shared<bool>(false);
  ls->add_flag("--running", *running, "Only running jobs");
  ls->callback([=] { *action = [=] { return PrintJobs(*ctx, {{"show_active", *running}}); }; });
  auto id = std::make_shared<std::string>();
  auto* show = job->add_subcommand("show", "Show one job");
  show->add_option("ID", *id)->required();
  show->callback([=] { *action = [=] { return PrintJobs(*ctx, {{"id", *id}}); }; });
  auto* wait =
      job->add_subcommand("wait", "Wait for a job to end (progress bar); exit 1 if it failed");
  auto timeout = std::make_shared<int>(0);
  wait->add_option("ID", *id)->required();
  wait->add_option("--timeout", *timeout, "Seconds (0 = no limit)");
  wait->callback([=] { *action = [=] { return WaitJob(*ctx, *id, *timeout); }; });
  auto* abort = job->add_subcommand("abort", "Abort a running job");
  abort->add_option("ID", *id)->required();
  abort->callback([=] { *action = [=] { return RunAbort(*ctx, *id); }; });
  auto* start = job->add_subcommand(
      "start", "Start a job: scrub [ais://B] (re-hash every object, repair from copies)");
  auto kind = std::make_shared<std::string>();
  auto bucket = std::make_shared<std::string>();
  auto rate = std::make_shared<uint64_t>(0);
  auto wait_end = std::make_shared<bool>(false);
  start->add_option("KIND", *kind, "scrub")->required();
  start->add_option("BUCKET", *bucket, "ais://B (default: every bucket)");
  start->add_option("--rate", *rate, "Bytes/s each target reads (0 = unthrottled)");
  start->add_flag("--wait", *wait_end, "Wait for the job to end and print its counts");
  start->callback(
      [=] { *action = [=] { return RunStart(*ctx, *kind, *bucket, *rate, *wait_end); }; });
}

}  // namespace aisle::cli
