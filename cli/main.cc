// aisle: command-line client for Aisle (and AIStore) clusters.
// Exit codes: 0 success, 1 operation failed, 2 usage error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/proxy_failover.h"
#include "common/net/http_client.h"

namespace {

int Run(int argc, char** argv) {
  using namespace aisle::cli;
  CliContext ctx;
  Action action;

  CLI::App app{"aisle: command-line client for Aisle / AIStore clusters", "aisle"};
  app.fallthrough();  // global flags work after the subcommand too: `aisle bucket ls --json`
  app.require_subcommand(1);
  app.set_version_flag("--version", "aisle 0.1.0");
  std::string endpoints = ctx.endpoint;
  app.add_option("--endpoint", endpoints, "Cluster URL; several (proxies), comma separated")
      ->envname("AIS_ENDPOINT")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Machine-readable JSON output");
  app.add_option("--cluster-secret-file", ctx.secret_file,
                 "Cluster secret that signs membership changes (cluster remove)")
      ->envname("AISLE_CLUSTER_SECRET_FILE");
  // https: AIStore's client variables (AIS_CLIENT_CA, AIS_SKIP_VERIFY_CRT, AIS_CRT/_KEY).
  aisle::TlsClientOptions tls;
  app.add_option("--ca-file", tls.ca_file, "CA file (PEM) that verifies an https cluster")
      ->envname("AIS_CLIENT_CA");
  app.add_flag("--skip-verify-crt", tls.skip_verify,
               "Do not verify the cluster's TLS certificate (testing only)")
      ->envname("AIS_SKIP_VERIFY_CRT");
  app.add_option("--cert", tls.cert_file, "Client certificate (PEM) for mutual TLS")
      ->envname("AIS_CRT");
  app.add_option("--cert-key", tls.key_file, "Private key of --cert")->envname("AIS_CRT_KEY");
  RegisterBucketCommands(&app, &ctx, &action);
  RegisterObjectCommands(&app, &ctx, &action);
  RegisterListRangeCommands(&app, &ctx, &action);
  RegisterArchiveCommands(&app, &ctx, &action);
  RegisterJobCommands(&app, &ctx, &action);
  RegisterEtlCommands(&app, &ctx, &action);
  RegisterClusterCommands(&app, &ctx, &action);
  RegisterAuthCommands(&app, &ctx, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, version or the error
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!action) return UsageError("no command given");
  auto list = ParseEndpoints(endpoints);
  if (!list.ok()) return UsageError(list.status().message());
  ctx.endpoint = list->front();

  aisle::HttpClient http;
  http.SetTls(tls);
  if (std::string token = LoadToken(); !token.empty())
    http.SetDefaultHeaders({{"Authorization", "Bearer " + token}});
  ProxyFailover cluster(&http, *list);
  AisClient client(&cluster, ctx.endpoint);
  ctx.http = &http;
  ctx.cluster = &cluster;
  ctx.client = &client;
  return action();
}

}  // namespace

int main(int argc, char** argv) {
  // The edge of the program: nothing escapes as an abort or a stack trace.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aisle: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "aisle: internal error\n");
  }
  return aisle::cli::kExitFailed;
}
