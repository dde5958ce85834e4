// Command line of aisle-fs: `aisle-fs ENDPOINT[/BUCKET] MOUNTPOINT [-o opts] [-f] [-d]`,
// also as invoked by mount(8) through mount.fuse.aisle (generic mount options are ignored).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "fs/core/options.h"

namespace aisle::fs {

struct MountConfig {
  std::string endpoint;  // "http://host:port": the first of `endpoints`
  // ENDPOINT may list several proxies, comma separated (proxy-bound requests fail over).
  std::vector<std::string> endpoints;
  // -o metrics=HOST:PORT: serve this mount's Prometheus metrics there ("" = off).
  std::string metrics_addr;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;  // -d / -o debug: libfuse request trace, foreground
  bool allow_other = false;
  bool help = false;
  bool version = false;
  bool check = false;  // --check: validate the arguments and exit, neither connect nor mount
  std::string log_level = "info";
  double retry_timeout = 20.0;  // seconds one request keeps retrying an unreachable node
  // --token-file F: the user token sent as Authorization: Bearer (clusters with --auth);
  // AIS_AUTHN_TOKEN wins.
  std::string token_file;
  // https clusters: -o ca_file=F (AIS_CLIENT_CA when not given) verifies the nodes;
  // -o skip_verify (AIS_SKIP_VERIFY_CRT=true) does not (testing only).
  std::string ca_file;
  bool skip_verify = false;
  FsOptions fs;
};

// Parses argv (argv[0] is the program). uid/gid default to the caller's.
Result<MountConfig> ParseMountArgs(const std::vector<std::string>& args);
// "64M", "1G", "4096" -> bytes.
Result<uint64_t> ParseSize(const std::string& s);
std::string MountUsage();

}  // namespace aisle::fs
