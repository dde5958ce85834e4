// TargetApi: the AIStore-compatible native API (/v1/...) of a node that stores objects.
// Routes a Request to the bucket, object, daemon and health handlers; knows nothing of
// sockets. The cluster work will put a proxy API in front of the same handlers.
#pragma once

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/storage/store.h"

namespace aisle::api {

struct ApiContext {
  storage::Store* store = nullptr;
  NodeContext node;
};

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

// RFC 1123 date for Last-Modified; RFC 822 ("02 Jan 06 15:04 UTC") for list entries.
std::string HttpDate(int64_t unix_ns);
std::string Rfc822(int64_t unix_ns);

}  // namespace aisle::api
