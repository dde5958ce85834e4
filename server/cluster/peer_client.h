// PeerClient: how a node calls other nodes. One pooled HTTP client per node (owned by the node
// and handed to its cluster membership, handlers and jobs), requests marked intra-cluster with
// the node's id, and the shared rules for object URLs and for reading another node's errors.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/net/http_client.h"
#include "common/net/intra_auth.h"
#include "common/status.h"

namespace aisle::cluster {

class TargetCluster;
struct Smap;

// Header that marks node-to-node requests; such requests are never redirected again.
using aisle::kIntraHeader;

class PeerClient {
 public:
  // With a cluster secret every request marked with kIntraHeader is signed (SignIntra); the
  // secret outlives this. Without one, requests go out marked but unsigned.
  explicit PeerClient(std::string self_id, const ClusterSecret* secret = nullptr)
      : self_id_(std::move(self_id)), secret_(secret) {}
  virtual ~PeerClient() = default;
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  const std::string& self_id() const { return self_id_; }
  const ClusterSecret* secret() const { return secret_; }
  // Sends `req`; callers add kIntraHeader where the peer must not redirect it, and such a
  // request is sent as from this node, signed (Send). Virtual only so handler tests can answer
  // node-to-node calls without sockets.
  virtual Result<HttpResponse> Do(const HttpRequest& req) { return Send(req); }
  HttpClient& http() { return http_; }
  // The intra headers (kIntraHeader and, with a secret, its signature) for a request sent
  // another way (the S3 relay). `body_digest`: Sha256Hex of the body or kUnsignedPayload.
  std::vector<std::pair<std::string, std::string>> IntraHeaders(std::string_view method,
                                                                std::string_view target,
                                                                std::string_view body_digest) const;

  // Asks the node at `url` who it is (a signed GET /v1/daemon?what=snode): OK when it answers
  // as `node_id` and, with a secret, proves it holds the secret (Aisle-Intra-Proof over this
  // request's signature and its ID). kInvalidArgument otherwise; kUnavailable unreachable.
  Status CheckIdentity(const std::string& url, const std::string& node_id);
  // Writes bucket/name where it belongs (jobs producing new objects): when this target owns it
  // (or `cluster` is null: standalone), `put_local` stores it and the extra copies follow; else
  // a node-to-node PUT of `body` to the owner. total_timeout 0 = none.
  Status PutAtOwner(TargetCluster* cluster, const std::string& bucket, const std::string& name,
                    const HttpBody& body, const std::function<Status()>& put_local,
                    std::chrono::milliseconds total_timeout = std::chrono::milliseconds(0));
  // Deletes the other copies of bucket/object (every other target of `smap` that may hold one,
  // asked with ?local=true); failures are logged, not returned.
  void DeleteCopies(const Smap& smap, std::string_view bucket, std::string_view object);

 protected:
  // Signs a request marked with kIntraHeader (when there is a secret) and sends it.
  Result<HttpResponse> Send(const HttpRequest& req);

 private:
  const std::string self_id_;
  const ClusterSecret* secret_;
  HttpClient http_;
};

// "<base>/v1/objects/<bucket>/<object>", escaped.
std::string ObjectUrl(const std::string& base, std::string_view bucket, std::string_view object);
// Another node's error answer: the "message" of its JSON error body, else the body.
std::string RemoteErrorMessage(const HttpResponse& r);
// Another node's non-2xx answer as a Status of the same kind (404 stays kNotFound, 400
// kInvalidArgument, 503 kUnavailable; others kIOError naming the status).
Status StatusFromRemote(const HttpResponse& r, const std::string& what);

}  // namespace aisle::cluster
