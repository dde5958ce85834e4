// ProxyFailover: sends the CLI's cluster requests to one of several proxies. AIS_ENDPOINT (and
// --endpoint) may list several URLs; the others in the cluster map are learned from the first
// proxy that answers, so a command still runs while a proxy is down or answers 503 (not ready,
// not primary). Requests to other URLs (a target's own address) pass through unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/net/http_client.h"
#include "common/result.h"

namespace aisle::cli {

// "a,b" -> base URLs ("http://" added when no scheme, trailing '/' dropped). Empty -> error.
Result<std::vector<std::string>> ParseEndpoints(std::string_view list);

// The proxies (direct_url of every pmap entry) of an AIStore-shaped cluster map.
std::vector<std::string> ProxiesOfSmap(std::string_view smap_json);

class ProxyFailover {
 public:
  // `endpoints`: from ParseEndpoints; call sites build URLs on endpoints[0] (ctx.endpoint).
  ProxyFailover(HttpClient* http, std::vector<std::string> endpoints);

  // A URL on endpoints[0] goes to the proxy that answered last, then to each other known one
  // when it cannot connect or answers 503; the last candidate keeps the request's own retries.
  // When none answers: kUnavailable naming every URL tried.
  Result<HttpResponse> Do(const HttpRequest& req);

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  // Once per process: adds the proxies of `base`'s cluster map (best effort).
  void Learn(const std::string& base);

  HttpClient* http_;
  std::vector<std::string> endpoints_;  // configured, then learned
  std::string base_;                    // endpoints_[0] as configured
  size_t current_ = 0;                  // the one that answered last
  bool learned_ = false;
};

}  // namespace aisle::cli
