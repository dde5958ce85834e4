// Multi-object jobs from the CLI: `aisle object rm ais://B --template T | --list a,b` (delete-
// listrange, RunDeleteRange called by `object rm`) and `aisle bucket cp ais://SRC ais://DST
// --template T | --list a,b [--etl NAME]` (copy-listrange, etl-listrange). The job id is printed,
// or waited for with --wait.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/uri.h"
#include "common/net/http_client.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

struct LrArgs {
  std::string src, dst, templ, prepend, etl;
  std::vector<std::string> list;
  bool coer = false, wait = false;
};

int RunJob(const CliContext& ctx, const std::string& method, const std::string& bucket,
           const std::string& action, const json& value, bool wait) {
  HttpRequest req;
  req.method = method;
  req.url = ctx.endpoint + "/v1/buckets/" + EscapeComponent(bucket) + "?provider=ais";
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json({{"action", action}, {"name", ""}, {"value", value}}).dump();
  auto r = ctx.cluster->Do(req);
  if (!r.ok()) return Fail(r.status());
  if (r->status / 100 != 2) return Fail(StatusFromHttpError(*r, req.method));
  std::string id = r->body;
  if (wait) return WaitJob(ctx, id, 0);
  if (ctx.json)
    PrintJson({{"job", id}});
  else
    std::printf("Started %s job %s (aisle job wait %s)\n", action.c_str(), id.c_str(), id.c_str());
  return kExitOk;
}

Result<json> Selection(const LrArgs& a) {
  if (a.templ.empty() == a.list.empty())
    return Status::InvalidArgument("give exactly one of --template and --list");
  json v = json::object();
  if (!a.templ.empty())
    v["template"] = a.templ;
  else
    v["objnames"] = a.list;
  v["coer"] = a.coer;
  return v;
}

int RunCp(const CliContext& ctx, const LrArgs& a) {
  auto src = ParseBucketArg(a.src);
  if (!src.ok()) return UsageError(src.status().message());
  auto dst = ParseBucketArg(a.dst);
  if (!dst.ok()) return UsageError(dst.status().message());
  auto v = Selection(a);
  if (!v.ok()) return UsageError(v.status().message());
  (*v)["tobck"] = {{"name", *dst}, {"provider", "ais"}};
  (*v)["prepend"] = a.prepend;
  if (!a.etl.empty()) (*v)["id"] = a.etl;
  return RunJob(ctx, "POST", *src, a.etl.empty() ? "copy-listrange" : "etl-listrange", *v, a.wait);
}

void AddSelection(CLI::App* cmd, LrArgs* a) {
  cmd->add_option("--template", a->templ,
                  "Object names: e.g. 'img-{0000..0999}.jpg' or '{0..100..2}'");
  cmd->add_option("--list", a->list, "Object names, comma-separated")->delimiter(',');
  cmd->add_flag("--continue-on-error", a->coer, "Count per-object errors and keep going");
  cmd->add_flag("--wait", a->wait, "Wait for the job, with a progress bar");
}

}  // namespace

int RunDeleteRange(const CliContext& ctx, const std::string& bucket_arg, const std::string& templ,
                   const std::vector<std::string>& list, bool coer, bool wait) {
  LrArgs a;
  a.templ = templ;
  a.list = list;
  a.coer = coer;
  auto b = ParseBucketArg(bucket_arg);
  if (!b.ok()) return UsageError(b.status().message());
  auto v = Selection(a);
  if (!v.ok()) return UsageError(v.status().message());
  return RunJob(ctx, "DELETE", *b, "delete-listrange", *v, wait);
}

void RegisterListRangeCommands(CLI::App* app, CliContext* ctx, Action* action) {
  auto cp = std::make_shared<LrArgs>();
  CLI::App* cp_cmd = app->get_subcommand("bucket")->add_subcommand(
      "cp", "Copy (or transform with --etl) the objects of a list or template to another bucket");
  cp_cmd->add_option("SOURCE", cp->src, "ais://SRC")->required();
  cp_cmd->add_option("DESTINATION", cp->dst, "ais://DST (created if missing)")->required();
  AddSelection(cp_cmd, cp.get());
  cp_cmd->add_option("--prepend", cp->prepend, "Prefix added to every destination name");
  cp_cmd->add_option("--etl", cp->etl, "Transform each object with this ETL");
  cp_cmd->callback([=] { *action = [=] { return RunCp(*ctx, *cp); }; });
}

}  // namespace aisle::cli
