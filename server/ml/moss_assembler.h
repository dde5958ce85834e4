// MossAssembler: writes one GetBatch archive, one member per request entry in request order.
// Local entries are read from the store (shard members through the shard index); entries owned
// by other targets are fetched from them (PeerClient GETs) by a small pool running at most
// kWindow entries and kBudget bytes ahead of the writer, so memory stays bounded.
// With an ETL (MossReq::etl_name, an Aisle extension) every entry's selected bytes go through
// it where they are: a remote whole object or member is transformed by its owner (the peer GET
// carries etl_name), a local entry or a remote range here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/archive/member_reader.h"
#include "server/api/target_context.h"
#include "server/ml/moss_request.h"

namespace aisle::etl {
class EtlInstance;
}

namespace aisle::ml {

class MossAssembler {
 public:
  static constexpr size_t kWindow = 256;         // remote entries fetched ahead, at most
  static constexpr uint64_t kBudget = 64 << 20;  // bytes fetched ahead, at most (soft)
  static constexpr size_t kFetchers = 8;

  // ctx and req must outlive the assembler. etl: the running ETL of req.etl_name (null: none).
  MossAssembler(const api::ApiContext& ctx, const MossReq& req,
                std::shared_ptr<etl::EtlInstance> etl = nullptr);
  ~MossAssembler();  // stops and joins the fetchers
  MossAssembler(const MossAssembler&) = delete;
  MossAssembler& operator=(const MossAssembler&) = delete;

  // Writes the whole archive to `sink`, and one MossOut per entry to `out` when non-null.
  // Without coer the first failing entry is the error; with it, missing objects and members
  // become empty members under __404__/, and so do entries whose transform failed.
  Status Run(const archive::ByteSink& sink, std::vector<MossOut>* out);

 private:
  struct Fetched {
    bool ready = false;
    bool transformed = false;  // data is already the ETL's output (the owner ran it)
    bool etl_failed = false;   // the owner answered an error to the transformed GET
    Status st;
    std::string data;
  };
  void FetchLoop();
  // Sends etl_name to the owner when the whole object or member is wanted.
  Status Fetch(const MossIn& in, const std::string& base, Fetched* f);
  Result<std::string> WaitFetched(size_t i, bool* transformed, bool* etl_failed);

  const api::ApiContext& ctx_;
  const MossReq& req_;
  std::shared_ptr<etl::EtlInstance> etl_;
  std::vector<std::string> owner_url_;  // per entry: "" = local
  std::vector<size_t> remote_;          // indices of remote entries, in order
  std::vector<Fetched> fetched_;        // per entry (remote ones only used)

  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_remote_ = 0;  // next position in remote_ for a fetcher to take
  size_t consumed_ = 0;     // entries the writer is done with
  uint64_t ahead_bytes_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aisle::ml
