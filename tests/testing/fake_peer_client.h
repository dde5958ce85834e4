// A PeerClient that answers node-to-node calls from a script instead of the network: records
// every request and returns the canned answer (or error) set for it; 404 for the unscripted.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/cluster/peer_client.h"

namespace aisle::testing {

class FakePeerClient : public cluster::PeerClient {
 public:
  explicit FakePeerClient(std::string self_id) : PeerClient(std::move(self_id)) {}

  // Every request whose URL starts with `url_prefix` gets `answer`.
  void Answer(std::string url_prefix, Result<HttpResponse> answer) {
    std::lock_guard<std::mutex> l(mu_);
    script_.emplace_back(std::move(url_prefix), std::move(answer));
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

  Result<HttpResponse> Do(const HttpRequest& req) override {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(req);
    for (const auto& [prefix, answer] : script_) {
      if (req.url.compare(0, prefix.size(), prefix) == 0) return answer;
    }
    HttpResponse r;
    r.status = 404;
    r.body = R"({"message":"not scripted","status":404})";
    return r;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Result<HttpResponse>>> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace aisle::testing
