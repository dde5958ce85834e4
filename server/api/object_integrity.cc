#include "server/api/object_integrity.h"

#include "common/logging.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/verify.h"

namespace aisle::api {

bool ValidateGets(const ApiContext& ctx, std::string_view bucket) {
  return ctx.validate_get || (ctx.cluster && ctx.cluster->ValidateGet(bucket));
}

Status QuarantineAndRepair(const ApiContext& ctx, std::string_view bucket, std::string_view object,
                           const storage::ObjectReader* opened, const Status& bad) {
  spdlog::error("{} on {}", bad.ToString(), ctx.node.Name());
  Status q = ctx.store->Quarantine(bucket, object, opened);
  if (!q.ok() && !q.IsNotFound()) spdlog::error("quarantine: {}", q.ToString());
  Status repair = Status::NotFound("no copies");
  if (ctx.cluster && ctx.cluster->CopiesOf(bucket) >= 2)
    repair = ctx.cluster->RepairFromCopy(bucket, object);
  if (repair.ok()) return repair;
  std::string msg = bad.message() + " (on " + ctx.node.Name() + "; quarantined";
  msg += ctx.cluster && ctx.cluster->CopiesOf(bucket) >= 2 ? ", not repaired: " + repair.message()
                                                           : ", no copy to repair it from";
  return Status::DataCorruption(msg + ")").WithSubject(Subject::kObject);
}

Result<storage::ObjectReader> OpenVerified(const ApiContext& ctx, std::string_view bucket,
                                           std::string_view object, bool verify,
                                           const std::function<Status(uint64_t)>& on_chunk) {
  for (int attempt = 0;; ++attempt) {
    auto r = ctx.store->Get(bucket, object);
    Status bad;
    if (!r.ok()) {
      if (r.status().code() != StatusCode::kDataCorruption) return r.status();
      // A header that does not decode: the file is no object any more.
      bad =
          Status::DataCorruption(storage::ObjectCname(bucket, object) + ": " + r.status().message())
              .WithSubject(Subject::kObject);
    } else if (verify) {
      bad = storage::VerifyObject(*r, bucket, on_chunk);
      if (bad.ok()) return r;
      if (bad.code() != StatusCode::kDataCorruption) return bad;  // I/O error or abort
    } else {
      return r;
    }
    AISLE_RETURN_IF_ERROR(QuarantineAndRepair(ctx, bucket, object, r.ok() ? &*r : nullptr, bad));
    if (attempt > 0) return bad;  // repaired, yet bad again: give up rather than loop
  }
}

}  // namespace aisle::api
