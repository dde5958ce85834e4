// MetricsListener: serves `GET /metrics` (Prometheus text format 0.0.4) for aisle-fs on an
// optional address (-o metrics=HOST:PORT). One thread, plain blocking sockets: a scrape is one
// short request, answered and the connection closed; any other path is 404, another method
// 405. Not Beast: that stays in the node's transport (server/http).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"

namespace aisle::fs {

class MetricsListener {
 public:
  // Binds and listens on "HOST:PORT" (before the mount daemonizes, so errors reach the user).
  static Result<std::unique_ptr<MetricsListener>> Bind(const std::string& host_port);
  ~MetricsListener();  // stops the thread, closes the socket
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Starts answering; `render` produces the exposition text (called on the listener thread).
  void Start(std::function<std::string()> render);
  int port() const { return port_; }

 private:
  MetricsListener(int fd, int port, int wake_rd, int wake_wr);
  void Loop();
  void Serve(int conn);

  int fd_;
  int port_;
  int wake_rd_, wake_wr_;  // a pipe that wakes the loop to stop
  std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace aisle::fs
