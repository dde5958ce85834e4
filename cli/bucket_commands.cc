// aisle bucket create|ls|rm
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/uri.h"

namespace aisle::cli {
namespace {

using nlohmann::json;

int RunCreate(const CliContext& ctx, const std::string& arg) {
  Result<std::string> bucket = ParseBucketArg(arg);
  if (!bucket.ok()) return UsageError(bucket.status().message());
  if (Status s = ctx.client->CreateBucket(*bucket); !s.ok()) return Fail(s);
  if (ctx.json) {
    PrintJson({{"bucket", FormatAisUri(*bucket)}, {"created", true}});
  } else {
    std::printf("Created bucket \"%s\"\n", FormatAisUri(*bucket).c_str());
  }
  return kExitOk;
}

int RunList(const CliContext& ctx) {
  Result<std::vector<BucketInfo>> buckets = ctx.client->ListBuckets();
  if (!buckets.ok()) return Fail(buckets.status());
  if (ctx.json) {
    json arr = json::array();
    for (const BucketInfo& b : *buckets) {
      arr.push_back({{"name", b.name},
                     {"provider", b.provider.empty() ? "ais" : b.provider},
                     {"uri", FormatAisUri(b.name)}});
    }
    PrintJson(arr);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME"}};
  for (const BucketInfo& b : *buckets) rows.push_back({FormatAisUri(b.name)});
  PrintTable(rows);
  return kExitOk;
}

// Asks on the terminal; scripts (stdin not a tty) are not prompted.
bool Confirm(const std::string& question) {
  if (!::isatty(STDIN_FILENO)) return true;
  std::fprintf(stderr, "%s [y/N]: ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

int RunRemove(const CliContext& ctx, const std::vector<std::string>& args, bool yes) {
  std::vector<std::string> buckets;
  for (const std::string& arg : args) {
    Result<std::string> bucket = ParseBucketArg(arg);
    if (!bucket.ok()) return UsageError(bucket.status().message());
    buckets.push_back(*bucket);
  }
  int rc = kExitOk;
  json out = json::array();
  for (const std::string& b : buckets) {
    if (!yes && !Confirm("Destroy bucket \"" + FormatAisUri(b) + "\" and all its objects?")) {
      std::fprintf(stderr, "Skipped \"%s\"\n", FormatAisUri(b).c_str());
      rc = kExitFailed;
      continue;
    }
    if (Status s = ctx.client->DestroyBucket(b); !s.ok()) {
      rc = Fail(s);
      out.push_back({{"bucket", FormatAisUri(b)}, {"destroyed", false}, {"error", s.message()}});
      continue;
    }
    out.push_back({{"bucket", FormatAisUri(b)}, {"destroyed", true}});
    if (!ctx.json) std::printf("Destroyed bucket \"%s\"\n", FormatAisUri(b).c_str());
  }
  if (ctx.json) PrintJson(buckets.size() == 1 ? out[0] : out);
  return rc;
}

}  // namespace

void RegisterBucketCommands(CLI::App* app, CliContext* ctx, Action* action) {
  CLI::App* bucket = app->add_subcommand("bucket", "Create, list and destroy buckets");
  bucket->require_subcommand(1);

  auto create_arg = std::make_shared<std::string>();
  CLI::App* create = bucket->add_subcommand("create", "Create a bucket");
  create->add_option("BUCKET", *create_arg, "Bucket: NAME or ais://NAME")->required();
  create->callback([=] { *action = [=] { return RunCreate(*ctx, *create_arg); }; });

  CLI::App* ls = bucket->add_subcommand("ls", "List buckets");
  ls->alias("list");
  ls->callback([=] { *action = [=] { return RunList(*ctx); }; });

  auto rm_args = std::make_shared<std::vector<std::string>>();
  auto rm_yes = std::make_shared<bool>(false);
  CLI::App* rm = bucket->add_subcommand("rm", "Destroy buckets and all their objects");
  rm->alias("destroy");
  rm->add_option("BUCKET", *rm_args, "Bucket(s): NAME or ais://NAME")->required();
  rm->add_flag("-y,--yes", *rm_yes, "Do not ask for confirmation");
  rm->callback([=] { *action = [=] { return RunRemove(*ctx, *rm_args, *rm_yes); }; });
}

}  // namespace aisle::cli
