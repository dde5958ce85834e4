#include "server/node_config.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace aisle {
namespace {

Status LoadJson(const std::string& path, NodeConfig* c) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("config file " + path + " is not a JSON object");
  try {
    if (j.contains("role")) c->role = j["role"].get<std::string>();
    if (j.contains("host")) c->host = j["host"].get<std::string>();
    if (j.contains("port")) c->port = j["port"].get<int>();
    if (j.contains("mountpaths")) c->mountpaths = j["mountpaths"].get<std::vector<std::string>>();
    if (j.contains("id")) c->id = j["id"].get<std::string>();
    if (j.contains("io_threads")) c->io_threads = j["io_threads"].get<int>();
    if (j.contains("workers")) c->workers = j["workers"].get<int>();
    if (j.contains("log_level")) c->log_level = j["log_level"].get<std::string>();
    if (j.contains("max_object_size")) c->max_object_size = j["max_object_size"].get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
  return Status::OK();
}

}  // namespace

Result<NodeConfig> ParseNodeConfig(int argc, char** argv, int* exit_code) {
  NodeConfig c;
  CLI::App app{"aisle-node: an Aisle storage node (AIStore-compatible REST API)"};
  std::string config_file;
  app.add_option("--config", config_file, "JSON config file (same keys as the flags)");
  // Parse once for --config so flags given on the command line override the file.
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return Status::InvalidArgument("bad command line");
  }
  if (!config_file.empty()) {
    Status st = LoadJson(config_file, &c);
    if (!st.ok()) {
      *exit_code = 2;
      return st;
    }
  }
  CLI::App app2{"aisle-node: an Aisle storage node (AIStore-compatible REST API)"};
  app2.add_option("--config", config_file, "JSON config file (same keys as the flags)");
  app2.add_option("--role", c.role, "target or proxy")->check(CLI::IsMember({"target", "proxy"}));
  app2.add_option("--host", c.host, "listen address");
  app2.add_option("--port", c.port, "listen port (0 = ephemeral)")->check(CLI::Range(0, 65535));
  app2.add_option("--mountpath", c.mountpaths, "data directory (repeat for several disks)");
  app2.add_option("--id", c.id, "node ID (default: generated once and kept)");
  app2.add_option("--io-threads", c.io_threads, "event-loop threads (0 = one per core)");
  app2.add_option("--workers", c.workers, "request worker threads")->check(CLI::PositiveNumber);
  app2.add_option("--log-level", c.log_level, "trace|debug|info|warn|error");
  app2.add_option("--ready-file", c.ready_file, "write the URL here once serving");
  app2.add_option("--max-object-size", c.max_object_size, "largest object in bytes (0 = no limit)");
  try {
    app2.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app2.exit(e);
    return Status::InvalidArgument("bad command line");
  }
  for (const char* env : {"AISLE_NODE_ID", "AIS_DAEMON_ID"}) {
    if (const char* v = std::getenv(env); v && *v) c.id = v;
  }
  if (c.role == "target" && c.mountpaths.empty()) {
    *exit_code = 2;
    return Status::InvalidArgument("a target needs at least one --mountpath DIR");
  }
  if (c.role == "proxy") {
    *exit_code = 2;
    return Status::Unsupported("--role proxy is not available yet (single-node targets only)");
  }
  return c;
}

}  // namespace aisle
