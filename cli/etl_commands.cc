// aisle etl init|ls|show|stop|start|rm|logs|transform: transforms through /v1/etl and the
// object/bucket APIs (inline GET ?etl_name=, offline etl-bck job).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/uri.h"
#include "common/base64.h"
#include "common/net/http_client.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

Result<HttpResponse> Call(const CliContext& ctx, const std::string& method, const std::string& path,
                          const std::string& body = "") {
  HttpRequest req;
  req.method = method;
  req.url = ctx.endpoint + path;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = body;
  req.total_timeout = std::chrono::minutes(10);  // init waits for every target
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, ctx.cluster->Do(req));
  if (r.status / 100 != 2) return StatusFromHttpError(r, method);
  return r;
}

Result<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct InitOpts {
  std::string name, file, deps, func = "transform", comm = "hpush://", builtin, args;
  std::string init_timeout, obj_timeout, memory_limit;
  int concurrency = -1;
  std::vector<std::string> command;
};

void AddLimits(const InitOpts& o, json& msg) {
  if (!o.init_timeout.empty()) msg["init_timeout"] = o.init_timeout;
  if (!o.obj_timeout.empty()) msg["obj_timeout"] = o.obj_timeout;
  if (!o.memory_limit.empty()) msg["memory_limit"] = o.memory_limit;
  if (o.concurrency >= 0) msg["concurrency"] = o.concurrency;
}

int SendInit(const CliContext& ctx, const json& msg) {
  auto r = Call(ctx, "PUT", "/v1/etl", msg.dump());
  if (!r.ok()) return Fail(r.status());
  if (ctx.json) {
    PrintJson({{"name", msg["name"]}, {"id", r->body}});
  } else {
    std::printf("ETL %s is running on every target (%s)\n", msg["name"].get<std::string>().c_str(),
                r->body.c_str());
  }
  return kExitOk;
}

int InitCode(const CliContext& ctx, const InitOpts& o) {
  auto code = ReadFileText(o.file);
  if (!code.ok()) return Fail(code.status());
  json msg = {{"name", o.name},
              {"runtime", "python3"},
              {"code", Base64Encode(*code)},
              {"funcs", {{"transform", o.func}}}};
  if (!o.deps.empty()) {
    auto deps = ReadFileText(o.deps);
    if (!deps.ok()) return Fail(deps.status());
    msg["dependencies"] = Base64Encode(*deps);
  }
  AddLimits(o, msg);
  return SendInit(ctx, msg);
}

int InitProgram(const CliContext& ctx, const InitOpts& o) {
  if (o.command.empty()) return UsageError("give the program after --, e.g. -- tr a-z A-Z");
  json msg = {{"name", o.name}, {"communication", o.comm}, {"runtime", {{"command", o.command}}}};
  AddLimits(o, msg);
  return SendInit(ctx, msg);
}

int InitBuiltin(const CliContext& ctx, const InitOpts& o) {
  json msg = {{"name", o.name}, {"builtin", o.builtin}, {"args", o.args}};
  AddLimits(o, msg);
  return SendInit(ctx, msg);
}

int InitMsg(const CliContext& ctx, const std::string& file) {
  auto text = ReadFileText(file);
  if (!text.ok()) return Fail(text.status());
  json msg = json::parse(*text, nullptr, false);
  if (!msg.is_object()) return Fail("aisle: " + file + " is not a JSON object");
  return SendInit(ctx, msg);
}

int RunLs(const CliContext& ctx) {
  auto r = Call(ctx, "GET", "/v1/etl");
  if (!r.ok()) return Fail(r.status());
  json arr = json::parse(r->body, nullptr, false);
  if (!arr.is_array()) return Fail("malformed reply to GET /v1/etl");
  if (ctx.json) {
    PrintJson(arr);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "STAGE", "OBJECTS", "IN", "OUT", "ERROR"}};
  for (const auto& e : arr)
    rows.push_back({e.value("id", ""), e.value("stage", ""),
                    std::to_string(e.value("obj_count", uint64_t{0})),
                    FormatBytes(e.value("in_bytes", uint64_t{0})),
                    FormatBytes(e.value("out_bytes", uint64_t{0})), e.value("error", "")});
  PrintTable(rows);
  return kExitOk;
}

int RunShow(const CliContext& ctx, const std::string& name) {
  auto r = Call(ctx, "GET", "/v1/etl/" + EscapeComponent(name));
  if (!r.ok()) return Fail(r.status());
  json j = json::parse(r->body, nullptr, false);
  if (ctx.json || !j.is_object()) {
    std::printf("%s\n", r->body.c_str());
    return kExitOk;
  }
  json msg = j["init_msg"];
  if (msg.is_object() && msg.contains("code"))
    msg["code"] = "<" + std::to_string(msg["code"].get<std::string>().size()) + " bytes of base64>";
  std::printf("ETL %s: %s\ninit message: %s\n", name.c_str(), j.value("stage", "").c_str(),
              msg.dump().c_str());
  std::vector<std::vector<std::string>> rows{{"TARGET", "STAGE", "OBJECTS", "ERRORS", "ERROR"}};
  for (const auto& t : j["targets"])
    rows.push_back({t.value("target_id", ""), t.value("stage", ""),
                    std::to_string(t.value("obj_count", uint64_t{0})),
                    std::to_string(t.value("errors", uint64_t{0})), t.value("error", "")});
  PrintTable(rows);
  for (const auto& e : j["obj_errors"])
    std::printf("error: %s: %s\n", e.value("obj_name", "").c_str(), e.value("msg", "").c_str());
  return kExitOk;
}

int RunSimple(const CliContext& ctx, const std::string& method, const std::string& name,
              const std::string& sub, const char* done) {
  std::string path = "/v1/etl/" + EscapeComponent(name) + (sub.empty() ? "" : "/" + sub);
  auto r = Call(ctx, method, path);
  if (!r.ok()) return Fail(r.status());
  if (!ctx.json) std::printf("ETL %s %s\n", name.c_str(), done);
  return kExitOk;
}

int RunLogs(const CliContext& ctx, const std::string& name, const std::string& tid) {
  auto r = Call(ctx, "GET",
                "/v1/etl/" + EscapeComponent(name) + "/logs" + (tid.empty() ? "" : "/" + tid));
  if (!r.ok()) return Fail(r.status());
  json arr = json::parse(r->body, nullptr, false);
  if (!arr.is_array()) return Fail("malformed reply to GET logs");
  for (const auto& e : arr) {
    std::string logs;
    (void)Base64Decode(e.value("logs", ""), &logs);
    if (ctx.json) {
      PrintJson({{"target_id", e.value("target_id", "")}, {"logs", logs}});
      continue;
    }
    std::printf("== target %s ==\n%s%s", e.value("target_id", "").c_str(), logs.c_str(),
                logs.empty() || logs.back() == '\n' ? "" : "\n");
  }
  return kExitOk;
}

struct TransformOpts {
  std::string name, src, dst_or_out, args, prefix, prepend, ext;
  bool dry_run = false, wait = false;
  int workers = 0;
};

// "{jpg:png}", "jpg:png,jpeg:png" or JSON → {"jpg":"png",...}.
Result<json> ParseExt(std::string s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_object()) return j;
  json out = json::object();
  s.erase(
      std::remove_if(s.begin(), s.end(), [](char c) { return c == '{' || c == '}' || c == ' '; }),
      s.end());
  std::stringstream ss(s);
  for (std::string pair; std::getline(ss, pair, ',');) {
    size_t colon = pair.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size())
      return Status::InvalidArgument("--ext: expecting FROM:TO pairs, e.g. jpg:png,jpeg:png");
    out[pair.substr(0, colon)] = pair.substr(colon + 1);
  }
  return out;
}

int RunTransform(const CliContext& ctx, const TransformOpts& o) {
  auto src = ParseAisUri(o.src);
  if (!src.ok()) return UsageError(src.status().message());
  if (!src->object.empty() && src->object.back() != '/') {  // inline: one object
    std::string path = "/v1/objects/" + EscapeComponent(src->bucket) + "/" +
                       EscapePath(src->object) + "?etl_name=" + EscapeComponent(o.name);
    if (!o.args.empty()) path += "&etl_args=" + EscapeComponent(o.args);
    HttpRequest req;
    req.url = ctx.endpoint + path;
    req.follow_redirects = true;
    std::FILE* out = stdout;
    if (!o.dst_or_out.empty() && o.dst_or_out != "-") {
      out = std::fopen(o.dst_or_out.c_str(), "wb");
      if (!out) return Fail("cannot write " + o.dst_or_out);
    }
    req.on_body = [&](std::string_view b) -> Status {
      if (std::fwrite(b.data(), 1, b.size(), out) != b.size())
        return Status::IOError("write failed");
      return Status::OK();
    };
    auto r = ctx.cluster->Do(req);
    if (out != stdout) std::fclose(out);
    if (!r.ok()) return Fail(r.status());
    if (r->status / 100 != 2) return Fail(StatusFromHttpError(*r, "GET"));
    return kExitOk;
  }
  // Offline: bucket → bucket.
  if (o.dst_or_out.empty()) return UsageError("offline transform needs a destination bucket");
  auto dst = ParseBucketArg(o.dst_or_out);
  if (!dst.ok()) return UsageError(dst.status().message());
  json value = {{"id", o.name}, {"dry_run", o.dry_run}};
  std::string prefix = o.prefix.empty() ? src->object : o.prefix;
  if (!prefix.empty()) value["prefix"] = prefix;
  if (!o.prepend.empty()) value["prepend"] = o.prepend;
  if (!o.args.empty()) value["etl_args"] = o.args;
  if (o.workers > 0) value["num-workers"] = o.workers;
  if (!o.ext.empty()) {
    auto ext = ParseExt(o.ext);
    if (!ext.ok()) return UsageError(ext.status().message());
    value["ext"] = *ext;
  }
  json msg = {{"action", "etl-bck"}, {"name", *dst}, {"value", value}};
  auto r = Call(ctx, "POST",
                "/v1/buckets/" + EscapeComponent(src->bucket) +
                    "?bck_to=" + EscapeComponent("ais/@#/" + *dst + "/"),
                msg.dump());
  if (!r.ok()) return Fail(r.status());
  std::string id = r->body;
  if (!o.wait) {
    if (ctx.json)
      PrintJson({{"job", id}});
    else
      std::printf("Transforming ais://%s => ais://%s with %s: job %s (aisle job wait %s)\n",
                  src->bucket.c_str(), dst->c_str(), o.name.c_str(), id.c_str(), id.c_str());
    return kExitOk;
  }
  return WaitJob(ctx, id, 0);
}

}  // namespace

void RegisterEtlCommands(CLI::App* app, CliContext* ctx, Action* action) {
  CLI::App* etl = app->add_subcommand("etl", "Transforms inside the cluster: init, ls, transform");
  etl->require_subcommand(1);

  CLI::App* init = etl->add_subcommand("init", "Register a transform on every target");
  init->require_subcommand(1);
  auto o = std::make_shared<InitOpts>();
  auto limits = [o](CLI::App* c) {
    c->add_option("--init-timeout", o->init_timeout, "Start-up limit, e.g. 45s");
    c->add_option("--obj-timeout", o->obj_timeout, "Per-object limit, e.g. 10s");
    c->add_option("--memory-limit", o->memory_limit, "Per process, e.g. 512MiB");
    c->add_option("--concurrency", o->concurrency, "Transforms in flight per target (0 = CPUs)");
  };
  auto* code = init->add_subcommand(
      "code",
      "Python source defining transform(data: bytes) -> bytes, run by a persistent runtime");
  code->add_option("NAME", o->name)->required();
  code->add_option("FILE", o->file, "Python file")->required();
  code->add_option("--deps", o->deps, "requirements file (modules must be installed: python3-*)");
  code->add_option("--func", o->func, "Function name (default transform)");
  limits(code);
  code->callback([=] { *action = [=] { return InitCode(*ctx, *o); }; });

  auto* prog =
      init->add_subcommand("program", "Any program: aisle etl init program NAME -- CMD...");
  prog->add_option("NAME", o->name)->required();
  prog->add_option("--comm", o->comm, "io://, hpush://, hpull://, hrev:// or ws://");
  prog->add_option("CMD", o->command, "The program and its arguments (after --)");
  limits(prog);
  prog->callback([=] { *action = [=] { return InitProgram(*ctx, *o); }; });

  auto* builtin = init->add_subcommand(
      "builtin",
      "Native transform: identity, md5, sha256, xxhash, decompress, image-resize, shard-map");
  builtin->add_option("NAME", o->name)->required();
  builtin->add_option("TRANSFORM", o->builtin)->required();
  builtin->add_option("--args", o->args, "Defaults, e.g. size=256,crop=224,format=jpeg");
  limits(builtin);
  builtin->callback([=] { *action = [=] { return InitBuiltin(*ctx, *o); }; });

  auto file = std::make_shared<std::string>();
  auto* msg = init->add_subcommand("msg", "Send an init message (AIStore JSON) from a file");
  msg->add_option("FILE", *file)->required();
  msg->callback([=] { *action = [=] { return InitMsg(*ctx, *file); }; });

  auto* ls = etl->add_subcommand("ls", "List transforms with their stage and counters");
  ls->callback([=] { *action = [=] { return RunLs(*ctx); }; });

  auto name = std::make_shared<std::string>();
  auto* show = etl->add_subcommand("show", "Init message, per-target stage and object errors");
  show->add_option("NAME", *name)->required();
  show->callback([=] { *action = [=] { return RunShow(*ctx, *name); }; });
  auto* stop = etl->add_subcommand("stop", "Stop a transform's processes (keeps it registered)");
  stop->add_option("NAME", *name)->required();
  stop->callback(
      [=] { *action = [=] { return RunSimple(*ctx, "POST", *name, "stop", "stopped"); }; });
  auto* start = etl->add_subcommand("start", "Start a stopped transform again");
  start->add_option("NAME", *name)->required();
  start->callback(
      [=] { *action = [=] { return RunSimple(*ctx, "POST", *name, "start", "is running"); }; });
  auto* rm = etl->add_subcommand("rm", "Stop and remove a transform");
  rm->add_option("NAME", *name)->required();
  rm->callback([=] { *action = [=] { return RunSimple(*ctx, "DELETE", *name, "", "removed"); }; });
  auto tid = std::make_shared<std::string>();
  auto* logs = etl->add_subcommand("logs", "The programs' stderr, per target");
  logs->add_option("NAME", *name)->required();
  logs->add_option("TARGET_ID", *tid);
  logs->callback([=] { *action = [=] { return RunLogs(*ctx, *name, *tid); }; });

  auto t = std::make_shared<TransformOpts>();
  auto* tr = etl->add_subcommand(
      "transform",
      "Inline: NAME ais://B/OBJ [OUT|-]; offline job: NAME ais://SRC[/PREFIX/] ais://DST");
  tr->add_option("NAME", t->name)->required();
  tr->add_option("SRC", t->src)->required();
  tr->add_option("DST", t->dst_or_out, "Output file (inline) or destination bucket (offline)");
  tr->add_option("--args", t->args, "etl_args for the transform");
  tr->add_option("--prefix", t->prefix, "Offline: only objects with this prefix");
  tr->add_option("--prepend", t->prepend, "Offline: prefix for the new names");
  tr->add_option("--ext", t->ext, "Offline: rename extensions, e.g. jpg:png");
  tr->add_option("--workers", t->workers, "Offline: workers per target");
  tr->add_flag("--dry-run", t->dry_run, "Offline: transform and count, write nothing");
  tr->add_flag("--wait", t->wait, "Offline: wait for the job (progress bar)");
  tr->callback([=] { *action = [=] { return RunTransform(*ctx, *t); }; });
}

}  // namespace aisle::cli
