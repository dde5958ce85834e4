// TargetApi: the AIStore-compatible native API (/v1/...) of a node that stores objects.
// Routes a Request to the bucket, object, daemon and health handlers; knows nothing of
// sockets. The cluster work will put a proxy API in front of the same handlers.
#pragma once

#include <chrono>
#include <functional>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/store.h"

namespace aisle::etl {
class EtlManager;
}

namespace aisle::api {

struct LocalReadCounters;

struct ApiContext {
  storage::Store* store = nullptr;
  NodeContext node;
  cluster::TargetCluster* cluster = nullptr;  // null: a standalone node
  std::function<void()> request_shutdown;     // PUT /v1/daemon {"action":"shutdown"}
  Handler* s3 = nullptr;           // S3 API (server/api/s3): every path outside /v1/ when set
  etl::EtlManager* etl = nullptr;  // null: this node runs no transforms
  LocalReadCounters* local_reads = nullptr;  // null: local reads are off
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

// Cluster routing of a target (target_routing.cc). Each returns true when it answered.
// Not the owner (and not a node-to-node request): redirect to the owner.
bool RedirectToOwner(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object);
// A local miss: redirect to a target that still holds the object (e.g. during rebalance).
bool RedirectToHolder(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                      std::string_view object);
// Bucket requests on a clustered target go to the primary proxy.
bool RedirectBucketToPrimary(ApiContext& ctx, Request& req, Response& resp);
// After a local write at the owner: the other copies. After a local delete: theirs too.
Status AfterLocalPut(ApiContext& ctx, const Request& req, std::string_view bucket,
                     std::string_view object);
void AfterLocalDelete(ApiContext& ctx, const Request& req, std::string_view bucket,
                      std::string_view object);
// A rename whose new name may belong to another target.
Status ClusterRename(ApiContext& ctx, const Request& req, std::string_view bucket,
                     std::string_view from, std::string_view to);
bool IsIntra(const Request& req);
// The HTTP client for node-to-node requests of a target (pooled connections).
HttpClient& Client();
// "<base>/v1/objects/<bucket>/<object>", escaped.
std::string ObjectUrl(const std::string& base, std::string_view bucket, std::string_view object);
// Another node's error answer: the "message" of its JSON error body, else the body.
std::string RemoteErrorMessage(const HttpResponse& r);
// Another node's non-2xx answer as a Status of the same kind (404 stays kNotFound, 400
// kInvalidArgument, 503 kUnavailable; others kIOError naming the status).
Status StatusFromRemote(const HttpResponse& r, const std::string& what);
// Writes bucket/name where it belongs (jobs producing new objects): when this target owns it
// (or is standalone), `put_local` stores it and the extra copies follow; else a node-to-node
// PUT of `body` to the owner. total_timeout 0 = none.
Status PutAtOwner(const ApiContext& ctx, const std::string& bucket, const std::string& name,
                  const HttpBody& body, const std::function<Status()>& put_local,
                  std::chrono::milliseconds total_timeout = std::chrono::milliseconds(0));

// RFC 1123 date for Last-Modified; RFC 822 ("02 Jan 06 15:04 UTC") for list entries.
std::string HttpDate(int64_t unix_ns);
std::string Rfc822(int64_t unix_ns);

}  // namespace aisle::api
