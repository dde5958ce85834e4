// aisle archive ls|get|create|append: shards (docs/API.md "Shards").
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/uri.h"
#include "common/archive/shard_index.h"
#include "common/fd_io.h"
#include "common/net/http_client.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

std::string ObjUrl(const CliContext& ctx, const AisUri& u) {
  return ctx.endpoint + "/v1/objects/" + EscapeComponent(u.bucket) + "/" + EscapePath(u.object);
}

Result<AisUri> ShardArg(const std::string& arg) {
  AISLE_ASSIGN_OR_RETURN(AisUri u, ParseAisUri(arg));
  if (u.object.empty() || u.object.back() == '/')
    return Status::InvalidArgument("expecting a shard: ais://BUCKET/SHARD, got \"" + arg + "\"");
  return u;
}

Result<HttpResponse> Call(const CliContext& ctx, HttpRequest req) {
  AISLE_ASSIGN_OR_RETURN(HttpResponse r, ctx.cluster->Do(req));
  if (r.status / 100 != 2) return StatusFromHttpError(r, req.method);
  return r;
}

int RunLs(const CliContext& ctx, const std::string& arg, bool samples) {
  auto u = ShardArg(arg);
  if (!u.ok()) return UsageError(u.status().message());
  HttpRequest req;
  req.url = ObjUrl(ctx, *u) + "?archlist=true" + (samples ? "&group=samples" : "");
  auto r = Call(ctx, req);
  if (!r.ok()) return Fail(r.status());
  json doc = json::parse(r->body, nullptr, false);
  if (doc.is_discarded()) return Fail("archive ls: malformed reply");
  if (ctx.json) {
    PrintJson(doc);
    return kExitOk;
  }
  if (samples) {
    std::vector<std::vector<std::string>> rows{{"SAMPLE", "MEMBERS"}};
    for (const auto& s : doc["samples"]) {
      std::string fields;
      for (auto it = s["members"].begin(); it != s["members"].end(); ++it)
        fields += (fields.empty() ? "" : ",") + it.key();
      rows.push_back({s["key"].get<std::string>(), fields});
    }
    PrintTable(rows);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "SIZE", "NOTE"}};
  for (const auto& m : doc["members"]) {
    std::string note = m.value("unsafe", "");
    if (m.value("shadowed", false)) note = "shadowed by a later member";
    if (m.value("type", "file") != "file" && note.empty()) note = m.value("type", "");
    rows.push_back({m["name"].get<std::string>(), FormatBytes(m["size"].get<uint64_t>()), note});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunGet(const CliContext& ctx, const std::string& arg, const std::string& member,
           std::string out) {
  auto u = ShardArg(arg);
  if (!u.ok()) return UsageError(u.status().message());
  if (out.empty()) {
    // The local name comes from the member name: refuse anything that could escape (tar-slip).
    if (uint8_t f = archive::CheckMemberName(member))
      return Fail("refusing to derive a local path from member \"" + member + "\" (" +
                  archive::DescribeNameFlags(f) + "); give an output path or '-'");
    out = member.substr(member.rfind('/') == std::string::npos ? 0 : member.rfind('/') + 1);
  }
  int fd = STDOUT_FILENO;
  std::string tmp;
  if (out != "-") {
    tmp = out + ".aisle-tmp-" + std::to_string(::getpid());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(Status::FromErrno(errno, "open " + tmp));
  }
  HttpRequest req;
  req.url = ObjUrl(ctx, *u) + "?archpath=" + EscapeComponent(member);
  req.on_body = [fd, what = tmp.empty() ? std::string("stdout") : tmp](std::string_view b) {
    return WriteAll(fd, b, what);
  };
  auto r = Call(ctx, req);
  if (fd != STDOUT_FILENO) ::close(fd);
  if (!r.ok() || (out != "-" && ::rename(tmp.c_str(), out.c_str()) != 0)) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return Fail(r.ok() ? Status::FromErrno(errno, "rename " + out) : r.status());
  }
  if (out != "-" && !ctx.json)
    std::fprintf(stderr, "%s/%s -> %s\n", FormatAisUri(u->bucket, u->object).c_str(),
                 member.c_str(), out.c_str());
  return kExitOk;
}

int RunAppend(const CliContext& ctx, const std::string& arg, const std::string& file,
              std::string member, bool must_exist) {
  auto u = ShardArg(arg);
  if (!u.ok()) return UsageError(u.status().message());
  if (member.empty())
    member = file.substr(file.rfind('/') == std::string::npos ? 0 : file.rfind('/') + 1);
  HttpRequest req;
  req.method = "PUT";
  req.url = ObjUrl(ctx, *u) + "?archpath=" + EscapeComponent(member);
  req.body = aisle::FileBody{file};
  if (must_exist) req.headers.emplace_back("Ais-Pine", "1");
  auto r = Call(ctx, req);
  if (!r.ok()) return Fail(r.status());
  if (ctx.json)
    PrintJson({{"shard", FormatAisUri(u->bucket, u->object)},
               {"member", member},
               {"version", r->Header("Ais-Version").value_or("")}});
  else
    std::printf("Appended %s to %s\n", member.c_str(), FormatAisUri(u->bucket, u->object).c_str());
  return kExitOk;
}

struct CreateArgs {
  std::string src, dst, templ, prefix;
  std::vector<std::string> list;
  uint64_t max_size = 0;
  bool wait = false, coer = false, append = false;
};

int RunCreate(const CliContext& ctx, const CreateArgs& a) {
  auto src = ParseBucketArg(a.src);
  if (!src.ok()) return UsageError(src.status().message());
  auto dst = ParseAisUri(a.dst);
  if (!dst.ok()) return UsageError(dst.status().message());
  if (dst->object.empty())
    return UsageError("destination must name the shard: ais://BUCKET/NAME.tar");
  json value = {{"archname", dst->object},
                {"tobck", {{"name", dst->bucket}, {"provider", "ais"}}},
                {"coer", a.coer}};
  if (a.append) value["aate"] = true;
  if (!a.templ.empty()) value["template"] = a.templ;
  if (!a.prefix.empty()) value["prefix"] = a.prefix;
  if (!a.list.empty()) value["objnames"] = a.list;
  if (a.max_size) value["max_shard_size"] = a.max_size;
  HttpRequest req;
  req.method = "PUT";
  req.url = ctx.endpoint + "/v1/buckets/" + EscapeComponent(*src);
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json({{"action", "archive"}, {"value", value}}).dump();
  auto r = Call(ctx, req);
  if (!r.ok()) return Fail(r.status());
  std::string id = r->body;
  if (!a.wait) {
    if (ctx.json)
      PrintJson({{"job", id}});
    else
      std::printf("Started archive job %s (aisle job wait %s)\n", id.c_str(), id.c_str());
    return kExitOk;
  }
  return WaitJob(ctx, id, 0);
}

}  // namespace

void RegisterArchiveCommands(CLI::App* app, CliContext* ctx, Action* action) {
  CLI::App* arch = app->add_subcommand("archive", "Shards: list, read, create, append");
  arch->require_subcommand(1);

  auto* ls = arch->add_subcommand("ls", "List the members of a shard");
  auto ls_arg = std::make_shared<std::string>();
  auto samples = std::make_shared<bool>(false);
  ls->add_option("SHARD", *ls_arg, "ais://BUCKET/SHARD")->required();
  ls->add_flag("--samples", *samples, "Group members into WebDataset samples by basename");
  ls->callback([=] { *action = [=] { return RunLs(*ctx, *ls_arg, *samples); }; });

  auto* get = arch->add_subcommand("get", "Read one member");
  auto g_shard = std::make_shared<std::string>(), g_member = std::make_shared<std::string>(),
       g_out = std::make_shared<std::string>();
  get->add_option("SHARD", *g_shard, "ais://BUCKET/SHARD")->required();
  get->add_option("MEMBER", *g_member, "Member name as stored")->required();
  get->add_option("OUT", *g_out, "Output file, or - for stdout (default: the member's basename)");
  get->callback([=] { *action = [=] { return RunGet(*ctx, *g_shard, *g_member, *g_out); }; });

  auto* app_cmd =
      arch->add_subcommand("append", "Append a file to a shard (tar in place; others rewritten)");
  auto a_shard = std::make_shared<std::string>(), a_file = std::make_shared<std::string>(),
       a_name = std::make_shared<std::string>();
  auto a_must = std::make_shared<bool>(false);
  app_cmd->add_option("SHARD", *a_shard, "ais://BUCKET/SHARD")->required();
  app_cmd->add_option("FILE", *a_file, "Local file")->required()->check(CLI::ExistingFile);
  app_cmd->add_option("--name", *a_name, "Member name (default: the file's basename)");
  app_cmd->add_flag("--must-exist", *a_must, "Fail if the shard does not exist (Ais-Pine: 1)");
  app_cmd->callback(
      [=] { *action = [=] { return RunAppend(*ctx, *a_shard, *a_file, *a_name, *a_must); }; });

  auto* create = arch->add_subcommand("create", "Pack objects into shards (a job)");
  auto c = std::make_shared<CreateArgs>();
  create->add_option("SRC", c->src, "Source bucket ais://SRC")->required();
  create
      ->add_option("DST", c->dst, "Destination shard ais://DST/NAME.{tar,tgz,zip,tar.lz4,tar.zst}")
      ->required();
  create->add_option("--template", c->templ,
                     "Brace template of object names: img-{0000..9999}.jpg");
  create->add_option("--prefix", c->prefix, "All objects with this prefix");
  create->add_option("--list", c->list, "Object names")->delimiter(',');
  create->add_option("--max-size", c->max_size,
                     "Split into NAME-0000.ext, ... of at most this many bytes");
  create->add_flag("--wait", c->wait, "Wait for the job, with a progress bar");
  create->add_flag("--continue-on-error", c->coer, "Skip missing or unreadable objects");
  create->add_flag("--append,--append-if-exists", c->append,
                   "Append the objects to DST if it exists (aate; tar in place, other formats "
                   "rewritten), else create it; not with --max-size");
  create->callback([=] { *action = [=] { return RunCreate(*ctx, *c); }; });
}

}  // namespace aisle::cli
