#include "server/jobs/scrub_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/archive/shard_index.h"
#include "common/logging.h"
#include "server/api/object_integrity.h"
#include "server/jobs/job_registry.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"
#include "server/storage/verify.h"

namespace aisle::api {
namespace {

using Clock = std::chrono::steady_clock;

// Paces reads to rate_bps: after n bytes, sleeps until n/rate seconds have passed since the
// start (in short slices, so an abort is seen at once).
class Pacer {
 public:
  Pacer(uint64_t rate_bps, const jobs::Job& job) : rate_(rate_bps), job_(job) {}
  Status Take(uint64_t n) {
    if (job_.aborted()) return Status::Conflict("aborted");
    if (rate_ == 0) return Status::OK();
    done_ += n;
    auto due = start_ + std::chrono::microseconds(done_ * 1000000 / rate_);
    while (Clock::now() < due) {
      if (job_.aborted()) return Status::Conflict("aborted");
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
    }
    return Status::OK();
  }

 private:
  uint64_t rate_;
  const jobs::Job& job_;
  Clock::time_point start_ = Clock::now();
  uint64_t done_ = 0;
};

// A shard's member index sidecar: its own checksum (ShardIndex::Decode) and its tag (the
// object version, checksum, size and mtime it was built for). A bad one is removed.
void CheckSidecar(const ApiContext& ctx, const std::string& bucket, const storage::ObjectMeta& m,
                  jobs::Job& job) {
  auto path = ctx.store->SidecarPath(bucket, m.name, ".idx");
  if (!path.ok()) return;
  auto fh = storage::OpenFile(*path, O_RDONLY);
  if (!fh.ok()) return;  // none: built on the first member read
  struct stat st;
  if (::fstat(fh->get(), &st) != 0) return;
  std::string data(static_cast<size_t>(st.st_size), '\0');
  auto got = storage::PreadUpTo(fh->get(), data.data(), data.size(), 0, *path);
  job.Count("sidecars");
  auto idx = got.ok() ? archive::ShardIndex::Decode(std::string_view(data).substr(0, *got))
                      : Result<archive::ShardIndex>(got.status());
  // A sidecar of an older version is stale, not corrupt: the next read replaces it anyway.
  archive::IndexTag tag{m.version, m.xxhash, m.size, m.mtime_ns};
  if (idx.ok() && (idx->tag == tag || idx->tag.version != m.version)) return;
  job.Count("sidecars-bad");
  spdlog::error("scrub: {} index sidecar {}: {}", storage::ObjectCname(bucket, m.name), *path,
                idx.ok() ? "does not match the object" : idx.status().message());
  ::unlink(path->c_str());
}

}  // namespace

Status RunScrub(const ApiContext& ctx, const ScrubArgs& args, jobs::Job& job) {
  std::vector<std::string> buckets;
  if (!args.bucket.empty()) {
    buckets.push_back(args.bucket);
  } else {
    for (const auto& b : ctx.store->ListBuckets()) buckets.push_back(b.name);
  }
  Pacer pacer(args.rate_bps, job);
  auto pace = [&](uint64_t n) { return pacer.Take(n); };
  for (const std::string& bucket : buckets) {
    storage::ListOptions lo;
    lo.page_size = 1000;
    for (;;) {
      auto page = ctx.store->List(bucket, lo);
      if (!page.ok()) {
        if (page.status().IsNotFound()) break;  // destroyed meanwhile
        return page.status();
      }
      for (const auto& e : page->entries) {
        if (job.aborted()) return Status::Conflict("aborted");
        auto r = ctx.store->Get(bucket, e.name);
        Status bad;
        if (!r.ok()) {
          if (r.status().IsNotFound()) continue;  // deleted meanwhile
          if (r.status().code() != StatusCode::kDataCorruption) {
            job.NoteError(r.status().ToString());
            continue;
          }
          bad = Status::DataCorruption(storage::ObjectCname(bucket, e.name) + ": " +
                                       r.status().message())
                    .WithSubject(Subject::kObject);
        } else {
          bad = storage::VerifyObject(*r, bucket, pace);
          if (job.aborted()) return Status::Conflict("aborted");
          job.AddInput(1, r->meta.size);
          job.Count("checked");
          job.Count("bytes", r->meta.size);
        }
        if (bad.ok()) {
          CheckSidecar(ctx, bucket, r->meta, job);
          continue;
        }
        if (bad.code() != StatusCode::kDataCorruption) {
          job.NoteError(bad.ToString());
          continue;
        }
        job.Count("corrupt");
        Status fixed = QuarantineAndRepair(ctx, bucket, e.name, r.ok() ? &*r : nullptr, bad);
        if (fixed.ok()) {
          job.Count("repaired");
          job.AddOutput(1, e.size);
        } else {
          job.NoteError(fixed.message());
        }
      }
      if (page->next_token.empty()) break;
      lo.start_after = page->next_token;
    }
  }
  return Status::OK();
}

Result<std::string> StartScrub(const ApiContext& ctx, const ScrubArgs& args, std::string id) {
  if (!args.bucket.empty()) AISLE_RETURN_IF_ERROR(ctx.store->HeadBucket(args.bucket).status());
  ApiContext copy = ctx;  // the node outlives its jobs (Registry::AbortAllAndWait)
  return ctx.jobs->Start(
      "scrub", args.bucket, "", [copy, args](jobs::Job& job) { return RunScrub(copy, args, job); },
      std::move(id));
}

}  // namespace aisle::api
