#include "common/net/etcd_client.h"

#include <nlohmann/json.hpp>

namespace aisle::etcd {

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

Result<std::string> EtcdClient::Call(const std::string& path, const std::string& body) {
  if (endpoints_.empty()) return Status::Unavailable("etcd: no member URL configured");
  std::string last;
  size_t start = current_.load();
  for (size_t i = 0; i < endpoints_.size(); i++) {
    size_t k = (start + i) % endpoints_.size();
    HttpRequest req;
    req.method = "POST";
    req.url = endpoints_[k] + path;
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body;
    req.max_retries = 0;
    req.follow_redirects = false;
    req.connect_timeout = std::min(timeout_, std::chrono::milliseconds(1000));
    req.total_timeout = timeout_;
    auto resp = http_.Do(req);
    if (!resp.ok()) {
      last = endpoints_[k] + ": " + resp.status().message();
      continue;
    }
    if (resp->status == 200) {
      current_ = k;
      return std::move(resp->body);
    }
    // A member without quorum (or a leader) answers 503/504 and gRPC codes 14 (unavailable)
    // or 4 (deadline exceeded): another member may do better. Anything else is the answer.
    nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
    int code = j.is_object() && j.contains("code") && j["code"].is_number_integer()
                   ? j["code"].get<int>()
                   : 0;
    std::string msg = DecodeError(resp->body).value_or(resp->body.substr(0, 200));
    last = endpoints_[k] + ": " + msg;
    if (resp->status >= 500 || code == 14 || code == 4) continue;
    return Status::InvalidArgument("etcd " + path + ": " + msg);
  }
  return Status::Unavailable("etcd unavailable (no member answered " + path + "; last: " + last +
                             ")");
}

Result<RangeResult> EtcdClient::Range(const std::string& key, const std::string& range_end) {
  AISLE_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", EncodeRange(key, range_end)));
  return DecodeRange(body);
}

Result<int64_t> EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  AISLE_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/put", EncodePut(key, value, lease)));
  return DecodeRevision(body);
}

Result<int64_t> EtcdClient::Delete(const std::string& key, const std::string& range_end) {
  AISLE_ASSIGN_OR_RETURN(std::string body,
                         Call("/v3/kv/deleterange", EncodeDelete(key, range_end)));
  return DecodeRevision(body);
}

Result<TxnResult> EtcdClient::Txn(const std::vector<Compare>& cmp, const std::vector<Op>& success,
                                  const std::vector<Op>& failure) {
  AISLE_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/txn", EncodeTxn(cmp, success, failure)));
  return DecodeTxn(body);
}

Result<int64_t> EtcdClient::LeaseGrant(int64_t ttl_s) {
  AISLE_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/grant", EncodeLeaseGrant(ttl_s)));
  return DecodeLeaseGrant(body);
}

Result<int64_t> EtcdClient::LeaseKeepAlive(int64_t id) {
  AISLE_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/keepalive", EncodeLeaseId(id)));
  return DecodeKeepalive(body);
}

Status EtcdClient::LeaseRevoke(int64_t id) {
  auto r = Call("/v3/lease/revoke", EncodeLeaseId(id));
  return r.ok() ? Status::OK() : r.status();
}

Result<std::vector<std::string>> ParseEndpoints(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string url(list.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    pos = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    while (!url.empty() && (url.back() == '/' || url.back() == ' ')) url.pop_back();
    while (!url.empty() && url.front() == ' ') url.erase(0, 1);
    if (url.empty()) continue;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return Status::InvalidArgument("etcd endpoint \"" + url + "\": expecting http://HOST:PORT");
    out.push_back(std::move(url));
  }
  if (out.empty()) return Status::InvalidArgument("no etcd endpoint given");
  return out;
}

}  // namespace aisle::etcd
