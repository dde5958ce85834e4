// Node configuration: embedded defaults, then a JSON file (--config), then flags, then env.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace aisle {

struct NodeConfig {
  std::string role = "target";             // target | proxy
  std::string host = "127.0.0.1";          // listen address
  int port = 8080;                          // 0 = ephemeral (AIStore's default port)
  std::vector<std::string> mountpaths;      // required for targets
  std::string id;                           // generated and persisted when empty
  int io_threads = 0;                       // 0 = one per core
  int workers = 64;                         // concurrent requests
  std::string log_level = "info";
  std::string ready_file;                   // written with the URL once serving
  uint64_t max_object_size = 0;             // 0 = unlimited
};

// Parses argv; exit_code is set (and the result is an error) for --help or bad flags.
Result<NodeConfig> ParseNodeConfig(int argc, char** argv, int* exit_code);

}  // namespace aisle
