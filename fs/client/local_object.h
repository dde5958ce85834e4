// The client side of local reads (common/local_read_protocol.h): asks the target `node_id` on
// this host for an object's open file and reads it with pread. The connection stays open as
// long as the LocalObject lives: the target holds the object (and its bytes) until then.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "fs/client/cluster_client.h"

namespace aisle::fs {

// kUnsupported when no such target listens here (ECONNREFUSED: the socket does not exist in
// this network namespace), the target's error otherwise (kNotFound for 404, kUnavailable for
// 503 when it holds too many, ...).
Result<std::unique_ptr<LocalObject>> OpenLocalObject(const std::string& node_id,
                                                     const std::string& bucket,
                                                     const std::string& object,
                                                     std::chrono::milliseconds timeout);

}  // namespace aisle::fs
