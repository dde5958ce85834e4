// TargetApi: the AIStore-compatible native API (/v1/...) of a node that stores objects.
// Routes a Request to the bucket, object, daemon, health, job, ETL and shard handlers; knows
// nothing of sockets.
#pragma once

#include <string_view>

#include "server/api/http_types.h"
#include "server/api/target_context.h"

namespace aisle::api {

class TargetApi : public Handler {
 public:
  explicit TargetApi(ApiContext ctx) : ctx_(std::move(ctx)) {}
  void Handle(Request& req, Response& resp) override;

 private:
  ApiContext ctx_;
};

// Handler entry points (one file each), shared by TargetApi and tests.
void HandleBuckets(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket);
void HandleObject(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                  std::string_view object);
void HandleDaemon(ApiContext& ctx, Request& req, Response& resp);
void HandleHealth(ApiContext& ctx, Request& req, Response& resp);

}  // namespace aisle::api
