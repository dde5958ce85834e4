// ProxyList: the proxies aisle-fs sends proxy-bound requests (listings, metadata, writes
// through a proxy) to: those ENDPOINT lists, then those learned from the cluster map. One is
// current; when it cannot be reached the next becomes current. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace aisle::fs {

class ProxyList {
 public:
  explicit ProxyList(std::vector<std::string> urls);

  std::string Current() const;
  // `url` could not be reached: the next one becomes current, unless another caller moved
  // on already. Returns the (new) current URL.
  std::string Failed(const std::string& url);
  // Adds the URLs not known yet (in order, after the listed ones).
  void Learn(const std::vector<std::string>& urls);
  // True when `url` starts with a known proxy's base URL followed by '/', '?' or nothing;
  // *base gets that base.
  bool IsProxyUrl(const std::string& url, std::string* base) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> urls_;  // GUARDED_BY(mu_)
  size_t current_ = 0;             // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
