// What API handlers know about the node they run in. Filled by main; read-only after start.
#pragma once

#include <cstdint>
#include <string>

namespace aisle::api {

struct NodeContext {
  std::string id;    // daemon ID, e.g. "tAbCdEfGh"
  std::string role;  // "target" or "proxy"
  std::string host;
  uint16_t port = 0;
  int64_t start_ns = 0;
  bool tls = false;  // the port serves https
  std::string Url() const {
    return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
  }
  // "t[ID]" / "p[ID]", as AIStore names nodes in messages.
  std::string Name() const { return (role == "proxy" ? "p[" : "t[") + id + "]"; }
};

}  // namespace aisle::api
