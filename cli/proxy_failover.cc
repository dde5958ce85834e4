#include "cli/proxy_failover.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace aisle::cli {
namespace {

bool Retryable(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kTimeout;
}

}  // namespace

Result<std::vector<std::string>> ParseEndpoints(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string url(list.substr(start, comma - start));
    url.erase(0, url.find_first_not_of(" \t"));
    while (!url.empty() && (url.back() == ' ' || url.back() == '\t' || url.back() == '/'))
      url.pop_back();
    if (url.empty()) {
      return Status::InvalidArgument("endpoint list \"" + std::string(list) +
                                     "\": empty URL (expected URL[,URL...])");
    }
    if (url.find("://") == std::string::npos) url = "http://" + url;
    if (std::find(out.begin(), out.end(), url) == out.end()) out.push_back(std::move(url));
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> ProxiesOfSmap(std::string_view smap_json) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(smap_json, nullptr, false);
  if (!j.is_object()) return out;
  auto pmap = j.find("pmap");
  if (pmap == j.end() || !pmap->is_object()) return out;
  for (const auto& node : *pmap) {
    if (!node.is_object()) continue;
    auto pn = node.find("public_net");
    if (pn == node.end() || !pn->is_object()) continue;
    auto u = pn->find("direct_url");
    if (u == pn->end() || !u->is_string() || u->get_ref<const std::string&>().empty()) continue;
    std::string url = *u;
    while (!url.empty() && url.back() == '/') url.pop_back();
    out.push_back(std::move(url));
  }
  return out;
}

ProxyFailover::ProxyFailover(HttpClient* http, std::vector<std::string> endpoints)
    : http_(http), endpoints_(std::move(endpoints)) {
  if (!endpoints_.empty()) base_ = endpoints_[0];
}

void ProxyFailover::Learn(const std::string& base) {
  learned_ = true;
  HttpRequest req;
  req.url = base + "/v1/daemon?what=smap";
  req.max_retries = 0;
  req.total_timeout = std::chrono::milliseconds(5000);
  auto r = http_->Do(req);
  if (!r.ok() || r->status != 200) return;  // an older or locked-down cluster: keep the list
  for (std::string& url : ProxiesOfSmap(r->body)) {
    if (std::find(endpoints_.begin(), endpoints_.end(), url) == endpoints_.end())
      endpoints_.push_back(std::move(url));
  }
}

Result<HttpResponse> ProxyFailover::Do(const HttpRequest& req) {
  // Only URLs on the configured base; "http://h:80" must not match "http://h:8080/...".
  bool ours = !base_.empty() && req.url.compare(0, base_.size(), base_) == 0 &&
              (req.url.size() == base_.size() || req.url[base_.size()] == '/' ||
               req.url[base_.size()] == '?');
  if (!ours) return http_->Do(req);
  std::string rest = req.url.substr(base_.size());
  // A one-shot body stream cannot be sent twice.
  bool resendable = !std::holds_alternative<BodyReader*>(req.body);

  std::vector<size_t> order;  // indexes into endpoints_, current first
  for (size_t i = 0; i < endpoints_.size(); ++i)
    order.push_back((current_ + i) % endpoints_.size());
  std::string tried;
  Result<HttpResponse> last = Status::Unavailable("no endpoint");
  for (size_t n = 0; n < order.size(); ++n) {
    const std::string base = endpoints_[order[n]];
    HttpRequest r = req;
    r.url = base + rest;
    if (n + 1 < order.size() && resendable) r.max_retries = 0;  // others wait to be tried
    bool delivered = false;
    if (req.on_body) {
      r.on_body = [&delivered, &req](std::string_view chunk) {
        delivered = true;
        return req.on_body(chunk);
      };
    }
    last = http_->Do(r);
    if (last.ok() && !learned_) {
      // It answers: learn the other proxies now, while one is reachable.
      Learn(base);
      for (size_t i = order.size(); i < endpoints_.size(); ++i) order.push_back(i);
    }
    if (last.ok() && last->status != 503) {
      current_ = order[n];
      return last;
    }
    if (!resendable || delivered) return last;
    if (!last.ok() && !Retryable(last.status())) return last;
    tried +=
        (tried.empty() ? "" : "; ") + (last.ok() ? base + ": HTTP 503" : last.status().message());
  }
  if (last.ok()) return last;  // every proxy said 503: the caller reports the last answer
  return Status::Unavailable("no cluster endpoint answered (tried " + std::to_string(order.size()) +
                             "): " + tried);
}

}  // namespace aisle::cli
