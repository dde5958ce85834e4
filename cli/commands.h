// Command registration and the helpers the command files share.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace CLI {
class App;
}

namespace aisle {
class HttpClient;
}

namespace aisle::cli {

class AisClient;
class ProxyFailover;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the operation failed (server error, I/O, ...)
constexpr int kExitUsage = 2;   // bad command line

struct CliContext {
  // The first URL of AIS_ENDPOINT / --endpoint (which may list several, comma separated):
  // commands build cluster URLs on it and send them through `cluster`, which fails over.
  std::string endpoint = "http://localhost:8080";
  bool json = false;
  // The cluster secret (`aisle up` writes DIR/cluster.secret); signs membership changes.
  std::string secret_file;
  // Created after parsing, before the chosen command runs.
  HttpClient* http = nullptr;
  ProxyFailover* cluster = nullptr;
  AisClient* client = nullptr;
};

// Subcommand callbacks store the command to run here; main runs it after parsing.
using Action = std::function<int()>;

void RegisterBucketCommands(CLI::App* app, CliContext* ctx, Action* action);
void RegisterObjectCommands(CLI::App* app, CliContext* ctx, Action* action);
// `object get-batch` (cli/get_batch.cc), registered under the object command.
void RegisterGetBatch(CLI::App* object, CliContext* ctx, Action* action);
void RegisterArchiveCommands(CLI::App* app, CliContext* ctx, Action* action);
// `bucket cp` (cli/listrange_commands.cc); registered after the bucket commands.
void RegisterListRangeCommands(CLI::App* app, CliContext* ctx, Action* action);
// `object rm ais://B --template T | --list a,b`: one delete-listrange job. Exit code.
int RunDeleteRange(const CliContext& ctx, const std::string& bucket_arg, const std::string& templ,
                   const std::vector<std::string>& list, bool coer, bool wait);
void RegisterJobCommands(CLI::App* app, CliContext* ctx, Action* action);
void RegisterEtlCommands(CLI::App* app, CliContext* ctx, Action* action);
// Polls job `id` until it ends (progress bar on a terminal); 0 = no timeout. Exit code.
int WaitJob(const CliContext& ctx, const std::string& id, int timeout_s);
void RegisterClusterCommands(CLI::App* app, CliContext* ctx, Action* action);
// `aisle auth ...` (cli/auth_commands.cc): login, token, users.
void RegisterAuthCommands(CLI::App* app, CliContext* ctx, Action* action);
// The user token every command sends: AIS_AUTHN_TOKEN, else the file `aisle auth login`
// wrote (TokenPath()); "" when neither.
std::string LoadToken();
std::string TokenPath();
// POST /v1/users/USER {"password"} at `endpoint`: the token.
Result<std::string> Login(ProxyFailover& http, const std::string& endpoint, const std::string& user,
                          const std::string& password);
// The first line of a file without its line end ("" when unreadable).
std::string ReadFirstLine(const std::string& path);

// "aisle: MESSAGE" on stderr; returns kExitFailed.
int Fail(const Status& status);
int Fail(std::string_view message);
// "aisle: MESSAGE" plus a --help hint on stderr; returns kExitUsage.
int UsageError(std::string_view message);
// Compact JSON + newline on stdout; invalid UTF-8 is replaced rather than thrown on.
void PrintJson(const nlohmann::json& j);
// Left-aligned columns with two spaces between them; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace aisle::cli
