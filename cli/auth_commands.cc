// `aisle auth`: log in (the token is kept in ~/.config/aisle/token, mode 0600), print the
// token, and manage users (admins). Every command sends the token (cli/main.cc);
// AIS_AUTHN_TOKEN wins over the file, as in AIStore's CLI and SDK.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "common/net/http_client.h"

namespace aisle::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// AIStore's apc.AccessAttrs for the letters r, w, l (server/api/user_auth.h).
constexpr uint64_t kRead = 1 | 2 | 128;       // GET, HEAD object, HEAD bucket
constexpr uint64_t kWrite = 4 | 8 | 16 | 32;  // PUT, APPEND, DELETE, rename
constexpr uint64_t kList = 256;               // list objects

Result<HttpResponse> Send(CliContext& ctx, const std::string& method, const std::string& path,
                          const std::string& body) {
  HttpRequest req;
  req.method = method;
  req.url = ctx.endpoint + path;
  if (!body.empty()) {
    req.body = body;
    req.headers.emplace_back("Content-Type", "application/json");
  }
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, ctx.cluster->Do(req));
  if (resp.status / 100 != 2) return StatusFromHttpError(resp, method);
  return resp;
}

std::string ReadPassword(const std::string& file) {
  if (!file.empty()) return ReadFirstLine(file);
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

Status WriteToken(const std::string& token) {
  std::string path = TokenPath();
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fchmod(fd, 0600) == 0 && ok;
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::FromErrno(errno, "write " + path);
  return Status::OK();
}

// "ais://bucket=rwl" -> {"bck":{"name","provider"},"perm":"<bits>"}.
Result<json> PermEntry(const std::string& spec) {
  size_t eq = spec.rfind('=');
  std::string b = spec.substr(0, eq);
  if (b.rfind("ais://", 0) == 0) b = b.substr(6);
  if (eq == std::string::npos || b.empty() || b.find('/') != std::string::npos)
    return Status::InvalidArgument("--perm \"" + spec + "\": expecting ais://BUCKET=rwl");
  uint64_t perm = 0;
  for (char c : spec.substr(eq + 1)) {
    if (c == 'r')
      perm |= kRead;
    else if (c == 'w')
      perm |= kWrite;
    else if (c == 'l')
      perm |= kList;
    else
      return Status::InvalidArgument("--perm \"" + spec + "\": letters are r, w, l");
  }
  if (perm == 0) return Status::InvalidArgument("--perm \"" + spec + "\": no permission given");
  return json{{"bck", {{"name", b}, {"provider", "ais"}}}, {"perm", std::to_string(perm)}};
}

}  // namespace

std::string TokenPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.config";
  return base + "/aisle/token";
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string LoadToken() {
  if (const char* t = std::getenv("AIS_AUTHN_TOKEN"); t && *t) return t;
  return ReadFirstLine(TokenPath());
}

Result<std::string> Login(ProxyFailover& http, const std::string& endpoint, const std::string& user,
                          const std::string& password) {
  HttpRequest req;
  req.method = "POST";
  req.url = endpoint + "/v1/users/" + EscapeComponent(user);
  req.body = json{{"password", password}}.dump();
  req.headers.emplace_back("Content-Type", "application/json");
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, http.Do(req));
  if (resp.status != 200) return StatusFromHttpError(resp, "POST");
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.contains("token") || !j["token"].is_string())
    return Status::Unavailable("malformed login answer");
  return j["token"].get<std::string>();
}

void RegisterAuthCommands(CLI::App* app, CliContext* ctx, Action* action) {
  auto* auth = app->add_subcommand("auth", "Log in and manage users (clusters with --auth)");
  auth->require_subcommand(1);

  struct LoginArgs {
    std::string user, password_file;
  };
  auto la = std::make_shared<LoginArgs>();
  auto* login = auth->add_subcommand("login", "Get a token and keep it in ~/.config/aisle/token");
  login->add_option("USER", la->user, "user name")->required();
  login->add_option("--password-file", la->password_file, "file with the password (else stdin)");
  login->callback([=] {
    *action = [=] {
      auto token = Login(*ctx->cluster, ctx->endpoint, la->user, ReadPassword(la->password_file));
      if (!token.ok()) return Fail(token.status());
      if (Status st = WriteToken(*token); !st.ok()) return Fail(st);
      if (!ctx->json)
        std::printf("logged in as %s; token in %s\n", la->user.c_str(), TokenPath().c_str());
      return kExitOk;
    };
  });

  auto* token = auth->add_subcommand("token", "Print the token commands send");
  token->callback([=] {
    *action = [=] {
      std::string t = LoadToken();
      if (t.empty()) return Fail("no token: run `aisle auth login USER` or set AIS_AUTHN_TOKEN");
      std::printf("%s\n", t.c_str());
      return kExitOk;
    };
  });

  auto* user = auth->add_subcommand("user", "Manage users (admins only)");
  user->require_subcommand(1);
  struct AddArgs {
    std::string user, password_file;
    bool admin = false;
    std::vector<std::string> perms;
  };
  auto aa = std::make_shared<AddArgs>();
  auto* add = user->add_subcommand("add", "Add a user");
  add->add_option("USER", aa->user, "user name")->required();
  add->add_option("--password-file", aa->password_file, "file with the password")->required();
  add->add_flag("--admin", aa->admin, "the user may do everything");
  add->add_option("--perm", aa->perms, "ais://BUCKET=rwl (read, write, list); repeatable");
  add->callback([=] {
    *action = [=] {
      json body = {{"id", aa->user}, {"password", ReadFirstLine(aa->password_file)}};
      if (body["password"].get<std::string>().empty())
        return UsageError("--password-file: empty or unreadable");
      body["roles"] = aa->admin ? json::array({"Admin"}) : json::array();
      json bs = json::array();
      for (const auto& p : aa->perms) {
        auto e = PermEntry(p);
        if (!e.ok()) return UsageError(e.status().message());
        bs.push_back(*e);
      }
      body["buckets"] = bs;
      auto r = Send(*ctx, "POST", "/v1/users", body.dump());
      if (!r.ok()) return Fail(r.status());
      if (!ctx->json) std::printf("user %s added\n", aa->user.c_str());
      return kExitOk;
    };
  });
  auto rm_user = std::make_shared<std::string>();
  auto* rm = user->add_subcommand("rm", "Remove a user");
  rm->add_option("USER", *rm_user, "user name")->required();
  rm->callback([=] {
    *action = [=] {
      auto r = Send(*ctx, "DELETE", "/v1/users/" + EscapeComponent(*rm_user), "");
      if (!r.ok()) return Fail(r.status());
      return kExitOk;
    };
  });
  auto* ls = user->add_subcommand("ls", "List users");
  ls->callback([=] {
    *action = [=] {
      auto r = Send(*ctx, "GET", "/v1/users", "");
      if (!r.ok()) return Fail(r.status());
      json j = json::parse(r->body, nullptr, false);
      if (ctx->json || j.is_discarded()) {
        std::printf("%s\n", r->body.c_str());
        return kExitOk;
      }
      for (auto it = j.begin(); it != j.end(); ++it) {
        bool admin = false;
        for (const auto& role : it.value().value("roles", json::array()))
          admin = admin || role == "Admin";
        std::printf("%s%s\n", it.key().c_str(), admin ? " (admin)" : "");
      }
      return kExitOk;
    };
  });

  // S3 keys of users: SigV4 keys authorized with the user's bucket permissions.
  auto* s3key = auth->add_subcommand("s3key", "Manage users' S3 access keys (admins only)");
  s3key->require_subcommand(1);
  struct KeyArgs {
    std::string user, access_key;
  };
  auto ka = std::make_shared<KeyArgs>();
  auto keys_path = [ka] { return "/v1/users/" + EscapeComponent(ka->user) + "/s3keys"; };
  auto* kadd = s3key->add_subcommand("add", "Create an S3 key for USER; prints key and secret");
  kadd->add_option("USER", ka->user, "user name")->required();
  kadd->callback([=] {
    *action = [=] {
      auto r = Send(*ctx, "POST", keys_path(), "");
      if (!r.ok()) return Fail(r.status());
      json j = json::parse(r->body, nullptr, false);
      if (ctx->json || j.is_discarded()) {
        std::printf("%s\n", r->body.c_str());
        return kExitOk;
      }
      std::printf("access key: %s\nsecret key: %s\n", j.value("access_key", "").c_str(),
                  j.value("secret_key", "").c_str());
      return kExitOk;
    };
  });
  auto* krm = s3key->add_subcommand("rm", "Remove an S3 key of USER");
  krm->add_option("USER", ka->user, "user name")->required();
  krm->add_option("ACCESS_KEY", ka->access_key, "the access key")->required();
  krm->callback([=] {
    *action = [=] {
      auto r = Send(*ctx, "DELETE", keys_path() + "/" + EscapeComponent(ka->access_key), "");
      if (!r.ok()) return Fail(r.status());
      return kExitOk;
    };
  });
  auto* kls = s3key->add_subcommand("ls", "List the S3 access keys of USER");
  kls->add_option("USER", ka->user, "user name")->required();
  kls->callback([=] {
    *action = [=] {
      auto r = Send(*ctx, "GET", keys_path(), "");
      if (!r.ok()) return Fail(r.status());
      json j = json::parse(r->body, nullptr, false);
      if (ctx->json || !j.is_array()) {
        std::printf("%s\n", r->body.c_str());
        return kExitOk;
      }
      for (const auto& k : j)
        if (k.is_string()) std::printf("%s\n", k.get<std::string>().c_str());
      return kExitOk;
    };
  });
}

}  // namespace aisle::cli
