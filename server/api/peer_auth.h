// The one place that verifies node-to-node requests (docs/SECURITY.md). Every node runs
// AdmitPeer before routing: a request carrying Aisle-Intra is taken as from another node only
// when its signature (cluster secret, method, target, time, sender, body digest) is valid,
// recent and from a member of the cluster map; routes only nodes call refuse everyone else.
// Without a secret the header is taken at its word (unauthenticated mode, warned at start).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/body.h"
#include "common/net/intra_auth.h"
#include "common/status.h"
#include "server/api/http_types.h"
#include "server/api/node_context.h"

namespace aisle::cluster {
struct Smap;
}

namespace aisle::api {

// Which callers a route accepts.
enum class PeerRoute {
  kAny,      // clients, and nodes of the current cluster map
  kMember,   // nodes of the current cluster map only
  kJoining,  // nodes only, not yet in the map (join, keepalive: a node the primary lost)
  kPrimary,  // the current primary only (metasync, daemon shutdown); any node before a map
};

// Seconds a signed request's Aisle-Intra-Time may differ from this node's clock.
inline constexpr int64_t kIntraClockWindowS = 60;

class PeerAuth {
 public:
  struct Options {
    const ClusterSecret* secret = nullptr;  // null: unauthenticated mode
    // The node's current cluster map (null function or version 0: not in a cluster yet).
    std::function<std::shared_ptr<const cluster::Smap>()> smap;
    // Pulls the newest map (a node that joined a moment ago may sign before its map reaches
    // us); may be null.
    std::function<void()> refresh;
  };
  explicit PeerAuth(Options opts) : opts_(std::move(opts)) {}
  const ClusterSecret* secret() const { return opts_.secret; }

  // Verifies the intra headers of `req` for `route` at `now_s`; returns the sender ("" for a
  // client's request). kUnauthenticated-style refusals are kInvalidArgument with the reason.
  Result<std::string> Check(const Request& req, PeerRoute route, int64_t now_s) const;

 private:
  Status CheckMember(const std::string& sender, PeerRoute route) const;
  Options opts_;
};

// Checks the body of a signed request against its Aisle-Intra-Body digest as it is read: the
// reader fails at the end of a body that differs. Installed over req.body for the request's
// life and removed by the destructor.
class SignedBodyGuard {
 public:
  SignedBodyGuard() = default;
  ~SignedBodyGuard();
  SignedBodyGuard(const SignedBodyGuard&) = delete;
  SignedBodyGuard& operator=(const SignedBodyGuard&) = delete;
  void Install(Request& req, std::string digest);

 private:
  Request* req_ = nullptr;
  BodyReader* original_ = nullptr;
  std::unique_ptr<BodyReader> checker_;
};

// Which PeerRoute a request is (method and path; see the route tables in docs/SECURITY.md).
PeerRoute PeerRouteOf(const Request& req, bool proxy);
// Runs the check (auth may be null: unauthenticated mode) and fills req.intra_sender and
// req.peer_auth. On a refusal answers 401 in the AIS error shape and returns false. A verified
// request's answer carries Aisle-Intra-Proof.
bool AdmitPeer(const PeerAuth* auth, Request& req, Response& resp, const NodeContext& node,
               PeerRoute route, SignedBodyGuard* body_guard);
// For routes classified by their body (PUT /v1/cluster actions): answers 401 and returns true
// when peer auth is on and `req` is not a verified node-to-node request.
bool RefuseUnlessPeer(const Request& req, Response& resp, const NodeContext& node);

}  // namespace aisle::api
