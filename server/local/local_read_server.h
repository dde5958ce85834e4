// LocalReadServer: the target's side of local reads (common/local_read_protocol.h). A unix
// socket transport, like the HTTP server: it accepts peers of this uid (or root), passes each
// open to a handler (api::OpenForLocalRead), sends its reply with the object's fd, and holds
// what the handler returned (the open object and its read guard) until the client closes
// that handle or the connection.
//
// Threads: `threads` workers share one epoll set; a connection is armed one-shot, so one
// worker at a time serves it. The handler runs on those workers and must not block for long.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/local_read_protocol.h"
#include "common/result.h"

namespace aisle::local {

struct LocalOpenResult {
  localread::OpenReply reply;
  int fd = -1;                       // sent with a 200 reply; owned by `hold`
  std::shared_ptr<const void> hold;  // kept while the connection lasts
};
using LocalOpenHandler = std::function<LocalOpenResult(const localread::OpenRequest&)>;

struct LocalReadServerOptions {
  std::string node_id;
  int threads = 2;
  size_t max_open = 4096;  // objects held at once; more opens are answered 503 (read over HTTP)
};

class LocalReadServer {
 public:
  // Binds the abstract socket of `node_id` and starts the workers.
  static Result<std::unique_ptr<LocalReadServer>> Start(LocalReadServerOptions opts,
                                                        LocalOpenHandler handler);
  ~LocalReadServer();  // stops the workers and closes every connection (releasing its hold)
  LocalReadServer(const LocalReadServer&) = delete;
  LocalReadServer& operator=(const LocalReadServer&) = delete;

  size_t connections() const;
  size_t open_objects() const { return open_objects_.load(); }

 private:
  struct Conn;
  LocalReadServer(LocalReadServerOptions opts, LocalOpenHandler handler);
  void Work();
  void Accept();
  // Serves the messages waiting on a connection; false when it is done (closed or broken).
  bool Serve(Conn* c);
  // Handles one message; false when the connection must be closed.
  bool Handle(Conn* c, std::string_view msg);
  void Close(Conn* c);

  LocalReadServerOptions opts_;
  LocalOpenHandler handler_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable once stopping
  mutable std::mutex mu_;
  std::unordered_set<Conn*> conns_;
  std::atomic<size_t> open_objects_{0};
  std::vector<std::thread> workers_;
};

}  // namespace aisle::local
