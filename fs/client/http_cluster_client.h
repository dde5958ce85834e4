// HttpClusterClient: ClusterClient over the native AIStore REST API (common/net HttpClient).
// Retries idempotent requests with exponential backoff for up to `retry_budget`, so a node
// restart is ridden over; every request has connect and stall timeouts, so nothing hangs.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/net/http_client.h"
#include "fs/client/cluster_client.h"
#include "fs/client/cluster_map.h"
#include "fs/client/local_object.h"
#include "fs/client/proxy_list.h"
#include "fs/client/raw_range_get.h"
#include "fs/metrics/fs_metrics.h"

namespace aisle::fs {

struct HttpClusterOptions {
  // "http://host:port" of a proxy or target; several proxies fail over (more are learned
  // from the cluster map).
  std::vector<std::string> endpoints;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::seconds stall_timeout{15};             // no byte for this long -> kTimeout
  std::chrono::milliseconds metadata_timeout{30000};  // whole-request cap for small requests
  std::chrono::milliseconds retry_budget{20000};      // total time spent retrying one call
  std::string token;     // user token (Authorization: Bearer) for clusters with --auth; "" none
  TlsClientOptions tls;  // https endpoints: how they are verified
  FsMetrics* metrics = nullptr;  // counts requests and their errors (null: not counted)
};

class HttpClusterClient : public ClusterClient {
 public:
  explicit HttpClusterClient(HttpClusterOptions opts);

  // Fetches the cluster map (best effort: without it everything goes to the endpoint) and
  // learns its proxies.
  Status RefreshClusterMap();
  // The proxy (or node) proxy-bound requests go to now.
  std::string Endpoint() const { return proxies_.Current(); }

  Result<std::vector<std::string>> ListBuckets() override;
  Result<std::vector<std::string>> ListEtls() override;
  Status CreateBucket(const std::string& bucket) override;
  Result<ListPage> List(const ListRequest& req) override;
  Result<ObjectHead> Head(const std::string& bucket, const std::string& object) override;
  Result<uint64_t> GetRange(const ObjectRef& ref, uint64_t offset, uint64_t length,
                            const DataSink& sink) override;
  // Straight into `dest` over a plain keep-alive socket (RawRangeGetter) for objects and
  // shard members; transforms and unusual replies take GetRange.
  Result<uint64_t> ReadRange(const ObjectRef& ref, uint64_t offset, uint64_t length,
                             char* dest) override;
  // One open range GET over a plain socket (RawRangeGetter::Open) whose body the reader
  // receives as it goes; transforms and unusual replies take the default.
  Result<std::unique_ptr<RangeStream>> OpenRange(const ObjectRef& ref, uint64_t offset,
                                                 uint64_t length) override;
  // Asks the owning target (by the cluster map) over its local-read socket (LocalReadClient).
  Result<std::unique_ptr<LocalObject>> OpenLocal(const std::string& bucket,
                                                 const std::string& object) override;
  // One streamed GetBatch to the owner of the first item (the endpoint when unknown or after
  // a failure); no retries once bytes flowed (the caller reads what is missing as usual).
  Status GetBatch(const std::string& bucket, const std::vector<BatchItem>& items,
                  const DataSink& sink) override;
  std::string OwnerOf(const std::string& bucket, const std::string& object) override;
  Result<ObjectHead> Put(const std::string& bucket, const std::string& object,
                         const PutBody& body) override;
  Result<ObjectHead> AppendMember(const std::string& bucket, const std::string& shard,
                                  const std::string& member, const PutBody& body) override;
  Status Delete(const std::string& bucket, const std::string& object) override;
  Status Rename(const std::string& bucket, const std::string& from, const std::string& to) override;

 private:
  // Base URL for an object request: the HRW owner when known (and not `fallback`, i.e. a
  // retry after the owner failed), else the endpoint.
  std::string BaseFor(const std::string& bucket, const std::string& object, bool fallback) const;
  // Runs `attempt(n)` (n = 0, 1, ...) until it returns something other than kUnavailable/kTimeout
  // or the retry budget is spent, sleeping 50 ms, 100 ms, ... up to 2 s between attempts.
  template <typename T, typename F>
  Result<T> WithRetries(const char* what, F&& attempt);
  HttpRequest BaseRequest(std::string method, std::string url, bool metadata) const;
  // http_.Do; a request to a proxy that cannot be reached (or answers 503) moves the current
  // proxy on, and is sent again to the next one when its body can be re-sent and no reply
  // bytes were taken.
  Result<HttpResponse> Send(const HttpRequest& req);
  // http_.Do, counted.
  Result<HttpResponse> DoCounted(const HttpRequest& req);
  // Sends a PUT of `body` (a reader, a file or bytes); the new version (and time) on 2xx.
  Result<ObjectHead> SendPut(HttpRequest req, const PutBody& body, const std::string& what);
  // GET endpoint+path, a JSON array of objects: their string `field`s.
  Result<std::vector<std::string>> ListNames(const std::string& path, const char* field,
                                             const std::string& what);
  // "/v1/objects/B/O" (escaped); with BaseFor in front; with the read's query (archpath,
  // etl_name) for `ref`.
  static std::string ObjectPath(const std::string& bucket, const std::string& object);
  std::string ObjectUrl(const std::string& bucket, const std::string& object, bool fallback) const;
  static std::string ObjectTarget(const ObjectRef& ref);
  // The raw range GET of `ref` (the HRW owner; the endpoint from attempt 1 on): its 2xx body
  // to receive (null at or past the end) or the node's error. kUnsupported, with *general
  // set, for what only libcurl can take (https, redirects, chunked bodies).
  Result<std::unique_ptr<RawBodyStream>> OpenRawRange(const ObjectRef& ref, const std::string& what,
                                                      uint64_t offset, uint64_t length,
                                                      int attempt_no, bool* general);
  // "get B/O[member] via etl E", for messages.
  static std::string Describe(const ObjectRef& ref);

  HttpClusterOptions opts_;
  HttpClient http_;
  ProxyList proxies_;
  RawRangeGetter raw_;
  mutable std::mutex map_mu_;
  ClusterMap map_;  // GUARDED_BY(map_mu_)
  LocalReadClient local_;
};

// Maps a non-2xx HTTP status (and the JSON error body) to a Status.
Status StatusFromHttp(int http_status, const std::string& body, const std::string& what);

}  // namespace aisle::fs
