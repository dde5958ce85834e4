// S3ProxyApi: the S3 API at a cluster proxy. S3 clients do not follow redirects (SigV4 signs
// the Host), so object requests are relayed, streaming, to the object's HRW owner with the
// client's exact headers (the target verifies the signature). Bucket-level requests the
// proxy answers itself from the cluster (create/delete bucket, listings, multi-delete,
// ListBuckets) after verifying SigV4; the remaining bucket sub-resources are relayed to any
// online target, since every target holds every bucket.
#pragma once

#include <string>

#include "server/api/http_types.h"
#include "server/api/node_context.h"
#include "server/cluster/proxy_cluster.h"
#include "server/s3/s3_api.h"
#include "server/s3/s3_auth.h"

namespace aisle::api::s3 {

struct S3Ctx;

class S3ProxyApi : public Handler {
 public:
  S3ProxyApi(cluster::ProxyCluster* cluster, S3Options opts, NodeContext node);
  void Handle(Request& req, Response& resp) override;

  // True when `req` is an S3 request: /s3[/...], or virtual-host style (BUCKET.<domain>,
  // or BUCKET.<name> for a bucket in the BMD).
  bool Matches(const Request& req) const;

 private:
  S3Target Parse(const Request& req) const;
  std::string VirtualHostBucket(const Request& req) const;
  // Relays to http://<url>; 503 ServiceUnavailable when it cannot be reached.
  void RelayTo(const std::string& url, Request& req, Response& resp);
  void RelayToAnyTarget(Request& req, Response& resp, const S3Target& t);
  void ListBuckets(Request& req, Response& resp);
  void CreateBucket(S3Ctx& c, Request& req, Response& resp);
  void DeleteBucket(S3Ctx& c, Request& req, Response& resp);
  void DeleteObjects(S3Ctx& c, Request& req, Response& resp);
  // CopyObject whose source lives on another target than the destination.
  bool CrossOwnerCopy(const Request& req, const S3Target& t) const;
  // CopyObject whose source and destination live on different targets: the proxy streams the
  // source from its owner into a PUT at the destination's owner (s3_proxy_copy.cc).
  void CopyAcrossTargets(Request& req, Response& resp, const S3Target& t);

  cluster::ProxyCluster* cluster_;
  S3Options opts_;
  NodeContext node_;
};

}  // namespace aisle::api::s3
