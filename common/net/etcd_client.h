// EtcdClient: etcd's v3 KV and lease API over its JSON gateway (HTTP/1.1 through HttpClient,
// so no gRPC). Several member URLs: a request goes to the member that answered last and moves
// on to the next one when a member cannot be reached or has no quorum.
//
// Errors: kUnavailable when no member answers (down, no quorum, timeout); the message names
// etcd. A failed txn comparison is not an error: TxnResult::succeeded is false.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "common/net/etcd_wire.h"
#include "common/net/http_client.h"

namespace aisle::etcd {

class EtcdClient {
 public:
  // `endpoints`: member client URLs (http://host:2379); `timeout` bounds each attempt.
  explicit EtcdClient(std::vector<std::string> endpoints,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  const std::vector<std::string>& endpoints() const { return endpoints_; }

  // One key, or (with a non-empty range_end, e.g. PrefixEnd(p)) every key in [key, range_end).
  Result<RangeResult> Range(const std::string& key, const std::string& range_end = {});
  Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  Result<int64_t> Delete(const std::string& key, const std::string& range_end = {});
  Result<TxnResult> Txn(const std::vector<Compare>& cmp, const std::vector<Op>& success,
                        const std::vector<Op>& failure = {});

  Result<int64_t> LeaseGrant(int64_t ttl_s);
  // One keepalive: the remaining TTL, 0 when the lease is gone (expired or revoked).
  Result<int64_t> LeaseKeepAlive(int64_t id);
  Status LeaseRevoke(int64_t id);

  // POSTs `body` to `path` (/v3/...) on the members in turn: the first 200 reply's body.
  Result<std::string> Call(const std::string& path, const std::string& body);

 private:
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> current_{0};  // the member that answered last
  HttpClient http_;
};

// Splits "URL[,URL...]" into member URLs (trailing '/' removed); an error names a bad one.
Result<std::vector<std::string>> ParseEndpoints(std::string_view list);

}  // namespace aisle::etcd
