// The client side of local reads (common/local_read_protocol.h): asks a target on this host
// for an object's open file and reads it with pread. Connections to each target are kept and
// reused (up to 4 per target, one request at a time each); an object's handle is closed on the
// connection it came from when the LocalObject goes, and the target then lets it go.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/client/cluster_client.h"

namespace aisle::fs {

class LocalReadClient {
 public:
  struct NodeRef {
    std::string id;
    std::string url;  // its HTTP URL in the cluster map; a reply from another URL is refused
  };
  explicit LocalReadClient(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  // kUnsupported when target `node_id` does not serve local reads to us here (its socket is
  // not in this network namespace, or it runs as another user; not asked again for 10 s, nor
  // after a timeout); otherwise the target's answer (kNotFound for 404, kUnavailable for 503
  // when it holds too many, ...).
  Result<std::unique_ptr<LocalObject>> Open(const NodeRef& node, const std::string& bucket,
                                            const std::string& object);

  static constexpr size_t kConnsPerTarget = 4;
  struct Conn;  // one kept connection (shared with the objects opened on it)

 private:
  struct Target {
    std::vector<std::shared_ptr<Conn>> conns;
    size_t connecting = 0;  // connections being made (outside mu_)
    std::chrono::steady_clock::time_point absent_until{};
    size_t next = 0;  // round robin when every connection is busy
  };
  static constexpr std::chrono::seconds kAbsentFor{10};
  // Marks every connection to `node_id` broken (and, with `absent`, stops asking it for a
  // while): one lost connection means the target restarted or stalled.
  void Forget(const std::string& node_id, bool absent);
  Result<std::shared_ptr<Conn>> Connect(const std::string& node_id);
  // A connection to `node_id` for one request, locked in *held: a free kept one, else a new
  // one (*fresh) while there is room, else a busy one (waited for). Unsupported while the
  // target is known to have no local reads.
  Result<std::shared_ptr<Conn>> LeaseConn(const std::string& node_id,
                                          std::unique_lock<std::mutex>* held, bool* fresh);
  // One try; *stale is set when a kept connection turned out broken (worth another try).
  Result<std::unique_ptr<LocalObject>> OpenOnce(const NodeRef& node, const std::string& bucket,
                                                const std::string& object, bool* stale);

  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable connected_;                // a connect ended
  std::unordered_map<std::string, Target> targets_;  // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
