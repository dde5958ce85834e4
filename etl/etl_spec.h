// EtlSpec: one registered transform as a target runs it — what to run (built-in, Python code
// or a user program), how to talk to it (communication type) and its limits. Parsed from
// AIStore's init messages by etl/etl_msg.cc; turned into a Transformer by MakeTransformer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aisle::etl {

class Sandbox;  // etl/sandbox.h

enum class Comm {
  kBuiltin,  // native C++ in the target, no process hop
  kCode,     // Python source run by the persistent runtime (etl/runtime/python)
  kIo,       // io://    a program per object: bytes on stdin, result on stdout
  kHpush,    // hpush:// the program is an HTTP server; the target PUTs the bytes to it
  kHpull,    // hpull:// the program GETs the object from the target itself
  kHrev,     // hrev://  the target reverse-proxies the request to the program
  kWs,       // ws://    one persistent WebSocket per worker, a message pair per object
};
const char* CommName(Comm c);  // "builtin", "code", "io://", "hpush://", ...

struct EtlSpec {
  std::string name;
  Comm comm = Comm::kHpush;

  // kIo, kHpush, kHpull, kHrev, kWs: the program and its environment. HTTP programs get
  // PORT (where to listen, 127.0.0.1) and AIS_TARGET_URL (this target) in the environment.
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> env;

  // kCode: Python source (decoded), requirements text (decoded; Debian python3-* packages
  // must already be installed: checked at start), and the name of the transform function.
  std::string code;
  std::string dependencies;
  std::string transform_func = "transform";
  // kCode from the SDK's Etl.init_class: base64 of a (cloud)pickled ETLServer subclass
  // (ETL_CLASS_PAYLOAD) instead of `code`; its transform(data, path, etl_args) is called.
  // PACKAGES become `dependencies`; OS_PACKAGES must be installed Debian packages.
  std::string class_payload;
  std::vector<std::string> os_packages;
  // kIo from init-code with communication io://: `code` runs as a program per object
  // (AIStore's legacy io:// runtime), not as a function.

  // kBuiltin: transform name ("identity", "md5", "image-resize", ...) and default arguments
  // ("key=value,key=value"); a request's etl_args override them key by key.
  std::string builtin;
  std::string builtin_args;

  int64_t init_timeout_ms = 45'000;  // program start until healthy
  int64_t obj_timeout_ms = 10'000;   // one object, then the worker is killed and restarted
  int concurrency = 0;               // transforms in flight per target; 0 = number of CPUs
  uint64_t memory_limit = 0;         // RLIMIT_AS of each child process; 0 = the node's
  uint64_t max_output = 1ull << 30;  // a larger result is an error, not an OOM
  // "support_direct_put": an hpush program that honours Ais-Node-Url (AIStore's SDK
  // webservers): it gets the next pipeline stages and the direct-put destination in that
  // header and delivers the result itself (etl/transformer.h TransformInput::node_url).
  bool direct_put = false;

  std::string work_dir;    // per target and ETL: code files, sockets, logs (created by caller)
  std::string target_url;  // this target's base URL, e.g. http://127.0.0.1:8081
  // How processes are confined (owned by the EtlManager); null = not confined (tests).
  const Sandbox* sandbox = nullptr;
};

}  // namespace aisle::etl
