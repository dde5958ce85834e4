// How a clustered target routes requests that are not its own (shared by the native, shard and
// ETL handlers): redirects to the owner or to a node still holding an object, bucket requests to
// the primary, and the copies that follow a local write, delete or rename.
// Each Redirect* returns true when it answered the request.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/net/http_client.h"
#include "common/status.h"
#include "server/api/http_types.h"
#include "server/api/target_context.h"

namespace aisle::api {

// True for a node-to-node request (never redirected again): one AdmitPeer accepted.
bool IsIntra(const Request& req);
// Not the owner (and not a node-to-node request): redirect to the owner.
bool RedirectToOwner(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                     std::string_view object);
// A local miss: redirect to a target that still holds the object (e.g. during rebalance).
bool RedirectToHolder(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                      std::string_view object);
// An object missing here and on every online target: when a target that would hold it is down,
// kUnavailable naming that target instead of `missing` (never "does not exist" while it may be
// there); `missing` otherwise.
Status MissingUnlessDown(const ApiContext& ctx, std::string_view bucket, std::string_view object,
                         Status missing);
// The message of that answer, shared with the proxies (S3 relay).
std::string HolderDownMessage(std::string_view bucket, std::string_view object,
                              const std::string& node_id);
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
// Writes bucket/name where it belongs (jobs producing new objects): PeerClient::PutAtOwner,
// or just `put_local` on a standalone node. total_timeout 0 = none.
Status PutAtOwner(const ApiContext& ctx, const std::string& bucket, const std::string& name,
                  const HttpBody& body, const std::function<Status()>& put_local,
                  std::chrono::milliseconds total_timeout = std::chrono::milliseconds(0));
// Builds "<base><target>[?&]pid=<id>&utm=<ns>" for a redirect (AIStore's redirect query).
std::string RedirectUrl(const std::string& base, const std::string& target, const std::string& pid);

}  // namespace aisle::api
