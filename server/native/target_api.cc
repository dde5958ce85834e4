#include "server/native/target_api.h"

#include "common/clock.h"
#include "server/api/errors.h"
#include "server/api/op_metrics.h"
#include "server/api/peer_auth.h"
#include "server/api/target_routing.h"
#include "server/api/user_auth.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_handlers.h"
#include "server/jobs/job_handlers.h"
#include "server/ml/moss_handlers.h"
#include "server/native/local_read_handler.h"
#include "server/storage/store.h"

namespace aisle::api {

void TargetApi::Handle(Request& req, Response& resp) {
  std::string_view path = req.path;
  constexpr std::string_view kV1 = "/v1/";
  if (RefuseUnknownExpectation(req, resp, ctx_.node)) return;
  SignedBodyGuard signed_body;
  if (!AdmitPeer(ctx_.peer_auth, req, resp, ctx_.node, PeerRouteOf(req, false), &signed_body))
    return;
  UserAdmission user;
  if (!AdmitUser(ctx_.user_auth, req, resp, ctx_.node, false, &user)) return;
  // S3: path style under /s3, virtual-host style at the root (S3Api checks the Host).
  if (ctx_.s3 && path.substr(0, kV1.size()) != kV1) return ctx_.s3->Handle(req, resp);
  if (path.substr(0, kV1.size()) != kV1) {
    WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", ctx_.node);
    return;
  }
  if (!IsApiMethod(req.method))
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", ctx_.node);
  std::string_view rest = path.substr(kV1.size());
  size_t slash = rest.find('/');
  std::string_view group = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  if (group == "health") return HandleHealth(ctx_, req, resp);
  if (group == "daemon") return HandleDaemon(ctx_, req, resp);
  if (group == "metasync") {
    if (!ctx_.cluster)
      return WriteError(req, resp, 400, "this node is not in a cluster", ctx_.node);
    auto body = req.ReadBody(16 << 20);
    if (!body.ok()) return WriteError(req, resp, body.status(), ctx_.node);
    Status st = ctx_.cluster->ApplyMetasync(*body);
    if (!st.ok()) WriteError(req, resp, st, ctx_.node);
    return;
  }
  if (group == "cluster" && IsJobRequest(req, tail)) return HandleJobs(ctx_, req, resp);
  if (group == "etl") return HandleEtl(ctx_, req, resp, tail);
  if (group == "ml") return ml::HandleMoss(ctx_, req, resp, tail);
  if (group == "buckets" || group == "objects") {
    if (Status st = CheckBucketQuery(req); !st.ok()) return WriteError(req, resp, st, ctx_.node);
  }
  if (group == "buckets") {
    if (RedirectBucketToPrimary(ctx_, req, resp)) return;
    while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
    if (tail.find('/') != std::string_view::npos) {
      return WriteError(req, resp, 400,
                        "ais://" + std::string(tail) + ": invalid bucket name (no '/' allowed)",
                        ctx_.node);
    }
    return HandleBuckets(ctx_, req, resp, tail);
  }
  if (group == "objects") {
    size_t s = tail.find('/');
    if (s == std::string_view::npos || s == 0 || s + 1 == tail.size()) {
      return WriteError(
          req, resp, 400,
          "invalid URL path \"" + req.path + "\": expecting /v1/objects/BUCKET/OBJECT", ctx_.node);
    }
    TargetOpRecorder rec(ctx_.metrics, req);
    HandleObject(ctx_, req, resp, tail.substr(0, s), tail.substr(s + 1));
    AddGrant(ctx_.user_auth, user, req, resp);  // a redirect to the owner or a holder
    return rec.Done(resp);
  }
  WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", ctx_.node);
}

}  // namespace aisle::api
