#include "fs/client/proxy_list.h"

#include <algorithm>

namespace aisle::fs {

ProxyList::ProxyList(std::vector<std::string> urls) {
  for (std::string& u : urls) {
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (!u.empty() && std::find(urls_.begin(), urls_.end(), u) == urls_.end())
      urls_.push_back(std::move(u));
  }
}

std::string ProxyList::Current() const {
  std::lock_guard lk(mu_);
  return urls_.empty() ? std::string() : urls_[current_];
}

std::string ProxyList::Failed(const std::string& url) {
  std::lock_guard lk(mu_);
  if (urls_.empty()) return {};
  if (urls_[current_] == url) current_ = (current_ + 1) % urls_.size();
  return urls_[current_];
}

void ProxyList::Learn(const std::vector<std::string>& urls) {
  std::lock_guard lk(mu_);
  for (const std::string& u : urls) {
    if (!u.empty() && std::find(urls_.begin(), urls_.end(), u) == urls_.end()) urls_.push_back(u);
  }
}

bool ProxyList::IsProxyUrl(const std::string& url, std::string* base) const {
  std::lock_guard lk(mu_);
  for (const std::string& u : urls_) {
    if (url.compare(0, u.size(), u) != 0) continue;
    if (url.size() == u.size() || url[u.size()] == '/' || url[u.size()] == '?') {
      *base = u;
      return true;
    }
  }
  return false;
}

size_t ProxyList::size() const {
  std::lock_guard lk(mu_);
  return urls_.size();
}

}  // namespace aisle::fs
