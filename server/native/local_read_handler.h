// The handler of local reads (server/local/local_read_server.h): opens an object as a GET
// does and returns its fd, where its data starts, and the open object to hold (read guard).
#pragma once

#include <atomic>
#include <cstdint>

#include "server/api/target_context.h"
#include "server/local/local_read_server.h"

namespace aisle::api {

// Reported by GET /v1/daemon?what=stats as "local_reads".
struct LocalReadCounters {
  std::atomic<uint64_t> opens{0};   // objects handed out
  std::atomic<uint64_t> errors{0};  // requests answered with an error
};

local::LocalOpenResult OpenForLocalRead(ApiContext& ctx, const localread::OpenRequest& req);

}  // namespace aisle::api
