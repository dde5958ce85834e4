#include "server/cluster/fan_out.h"

#include <future>
#include <utility>

namespace aisle::cluster {

std::vector<TargetAnswer> AskTargets(ProxyCluster& cluster, const std::string& from_id,
                                     const std::string& method, const std::string& target,
                                     const std::string& body, std::chrono::milliseconds timeout) {
  auto smap = cluster.smap();
  std::vector<std::pair<std::string, std::future<Result<HttpResponse>>>> calls;
  for (const Node* t : smap->ActiveTargets()) {
    HttpRequest r;
    r.method = method;
    r.url = t->Url() + target;
    r.headers = {{"Content-Type", "application/json"}, {kIntraHeader, from_id}};
    r.body = body;
    r.max_retries = 1;
    r.total_timeout = timeout;
    calls.emplace_back(t->id, std::async(std::launch::async, [&cluster, r = std::move(r)]() {
                         return cluster.peers().Do(r);
                       }));
  }
  std::vector<TargetAnswer> out;
  for (auto& [id, f] : calls) out.push_back({id, f.get()});
  return out;
}

}  // namespace aisle::cluster
