// A standalone target for handler tests: its services (store, shard cache, job registry and,
// when asked, an ETL manager) owned in a safe order, and the TargetApi over them, driven in
// memory with Do(). No sockets.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "etl/etl_manager.h"
#include "server/jobs/job_registry.h"
#include "server/metrics/node_metrics.h"
#include "server/native/target_api.h"
#include "server/shards/shard_cache.h"
#include "tests/testing/api_request.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace aisle::testing {

class TargetApiFixture : public ::testing::Test {
 protected:
  // Opens the store on DIR/mp and builds the API; with_etl adds an EtlManager on DIR/etl;
  // validate_get is the node's --validate-get.
  void BuildApi(bool with_etl = false, bool validate_get = false) {
    store_ = OpenStore(dir_.Sub("mp"));
    shards_ = std::make_unique<api::ShardCache>(store_.get());
    if (with_etl)
      etl_ = std::make_unique<etl::EtlManager>(
          etl::EtlManager::Options{dir_.Sub("etl"), "", {}, nullptr});
    api::ApiContext ctx;
    ctx.store = store_.get();
    ctx.node = {"tTestNode", "target", "127.0.0.1", 1, 0};
    ctx.shards = shards_.get();
    ctx.jobs = &jobs_;
    ctx.etl = etl_.get();
    ctx.metrics = &metrics_;
    ctx.validate_get = validate_get;
    api_ = std::make_unique<api::TargetApi>(ctx);
  }

  api::Response Do(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Call(*api_, method, target, body, std::move(headers));
  }

  TempDir dir_;
  metrics::TargetMetrics metrics_;  // what the handlers recorded
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<api::ShardCache> shards_;
  std::unique_ptr<etl::EtlManager> etl_;  // null unless BuildApi(true)
  jobs::Registry jobs_;  // destroyed first: running jobs end before the ETLs and the store go
  std::unique_ptr<api::TargetApi> api_;
};

}  // namespace aisle::testing
