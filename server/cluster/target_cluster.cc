#include "server/cluster/target_cluster.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/logging.h"
#include "server/cluster/rebalance_plan.h"
#include "server/jobs/job_registry.h"
#include "server/storage/file_util.h"
#include "server/storage/verify.h"

namespace aisle::cluster {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Streams an opened object's data, hashing it: the last bytes are handed out only when the
// whole data matches its recorded checksum, so a corrupt source never arrives complete at a
// peer (which checks the checksum header too). `corrupt` tells the sender why it stopped.
class VerifyingReader : public BodyReader {
 public:
  VerifyingReader(const storage::ObjectReader& r, std::string_view bucket)
      : r_(r), bucket_(bucket), off_(r.data_offset), left_(r.meta.size) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, left_));
    if (want == 0) return size_t{0};
    AISLE_ASSIGN_OR_RETURN(size_t got,
                           storage::PreadUpTo(r_.file->get(), buf, want, off_, r_.meta.name));
    if (got == 0)
      return Fail(Status::DataCorruption(storage::ObjectCname(bucket_, r_.meta.name) +
                                         ": object shorter than its metadata")
                      .WithSubject(Subject::kObject));
    hash_.Update(buf, got);
    off_ += got;
    left_ -= got;
    if (left_ == 0 && hash_.Digest() != r_.meta.xxhash)
      return Fail(storage::ChecksumMismatch(bucket_, r_.meta.name, r_.meta.xxhash, hash_.Digest()));
    return got;
  }
  std::optional<uint64_t> DeclaredLength() const override { return r_.meta.size; }
  const Status& corrupt() const { return corrupt_; }

 private:
  Status Fail(Status st) {
    corrupt_ = st;
    return st;
  }
  const storage::ObjectReader& r_;
  std::string bucket_;
  uint64_t off_, left_;
  Xxh64Stream hash_;
  Status corrupt_;
};

}  // namespace

TargetCluster::TargetCluster(Options opts, storage::Store* store, PeerClient* peers,
                             jobs::Registry* jobs)
    : opts_(std::move(opts)), store_(store), peers_(peers), jobs_(jobs) {}

TargetCluster::~TargetCluster() { Stop(); }

Status TargetCluster::Start(milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  Status st;
  for (;;) {
    st = Join();
    if (st.ok() || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  if (!st.ok()) return st.WithContext("join " + opts_.primary_url);
  keepalive_thread_ = std::thread([this] { KeepaliveLoop(); });
  rebalance_thread_ = std::thread([this] { RebalanceLoop(); });
  return Status::OK();
}

void TargetCluster::Stop() {
  if (stop_.exchange(true)) return;
  reb_cv_.notify_all();
  if (keepalive_thread_.joinable()) keepalive_thread_.join();
  if (rebalance_thread_.joinable()) rebalance_thread_.join();
}

std::vector<std::string> TargetCluster::ProxyCandidates() const {
  auto smap = state_.smap();
  std::vector<std::string> urls;
  auto add = [&urls](std::string u) {
    if (!u.empty() && std::find(urls.begin(), urls.end(), u) == urls.end())
      urls.push_back(std::move(u));
  };
  if (auto p = smap->proxies.find(smap->primary_id); p != smap->proxies.end()) add(p->second.Url());
  for (const auto& [id, n] : smap->proxies)
    if (n.state != NodeState::kDown) add(n.Url());
  add(opts_.primary_url);
  return urls;
}

Result<HttpResponse> TargetCluster::PostToPrimary(const std::string& path, const std::string& body,
                                                  milliseconds timeout) {
  Result<HttpResponse> last = Status::Unavailable("no proxy to ask");
  for (const auto& url : ProxyCandidates()) {
    HttpRequest req;
    req.method = "POST";
    req.url = url + path;
    req.headers = {{"Content-Type", "application/json"}, {kIntraHeader, opts_.self.id}};
    req.body = body;
    req.max_retries = 0;
    req.connect_timeout = milliseconds(1000);
    req.total_timeout = timeout;
    last = peers_->Do(req);
    if (last.ok() && last->status < 500) return last;
  }
  return last;
}

Status TargetCluster::Join() {
  json buckets = json::array();
  for (const auto& b : store_->ListBuckets()) buckets.push_back(b.name);
  json body = {{"si", json::parse(NodeToJson(opts_.self))}, {"buckets", buckets}};
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp,
                         PostToPrimary("/v1/cluster/join", body.dump(), milliseconds(10000)));
  if (resp.status != 200) {
    return Status(resp.status == 409 ? StatusCode::kConflict : StatusCode::kUnavailable,
                  "primary refused the join (" + std::to_string(resp.status) + "): " + resp.body);
  }
  // The primary's push may have delivered the same versions already: not an error.
  Status st = ApplyMetasync(resp.body);
  return st.code() == StatusCode::kConflict ? Status::OK() : st;
}

Status TargetCluster::ApplyMetasync(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(MapSet maps, MapSetFromJson(body));
  // All or nothing: a refused message changes no map (ClusterState::InstallNewer).
  AISLE_ASSIGN_OR_RETURN(Installed done, state_.InstallNewer(std::move(maps)));
  if (done.bmd) ReconcileBuckets(*done.old_bmd, *state_.bmd());
  if (done.etlmd && etlmd_listener_) etlmd_listener_(state_.etlmd());
  if (done.smap) {
    spdlog::debug("cluster map v{}", state_.smap()->version);
    std::lock_guard<std::mutex> l(reb_mu_);
    reb_wanted_++;
    reb_cv_.notify_all();
  }
  return Status::OK();
}

void TargetCluster::ReconcileBuckets(const Bmd& old, const Bmd& bmd) {
  // Create what the cluster has; destroy only what it removed since our last version.
  for (const auto& [name, props] : bmd.buckets) {
    if (!store_->HeadBucket(name).ok()) {
      Status cs = store_->CreateBucket(name);
      if (!cs.ok() && cs.code() != StatusCode::kAlreadyExists)
        spdlog::error("metasync: create bucket {}: {}", name, cs.ToString());
    }
  }
  if (old.version > 0 && old.uuid == bmd.uuid) {
    for (const auto& [name, props] : old.buckets) {
      if (!bmd.buckets.count(name) && store_->HeadBucket(name).ok()) {
        Status ds = store_->DestroyBucket(name);
        if (!ds.ok()) spdlog::error("metasync: destroy bucket {}: {}", name, ds.ToString());
      }
    }
  }
}

int TargetCluster::CopiesOf(std::string_view bucket) const {
  return static_cast<int>(state_.bmd()->CopiesOf(bucket));
}

const Node* TargetCluster::OwnerOf(std::shared_ptr<const Smap>& holder, std::string_view bucket,
                                   std::string_view object) const {
  holder = state_.smap();
  return holder->Owner(bucket, object);
}

void TargetCluster::EnsureBucket(std::string_view bucket) {
  if (store_->HeadBucket(bucket).ok()) return;
  (void)SyncMaps();
  if (store_->HeadBucket(bucket).ok()) return;
  auto bmd = state_.bmd();
  if (!bmd->Find(bucket)) return;
  Status cs = store_->CreateBucket(bucket);
  if (!cs.ok() && cs.code() != StatusCode::kAlreadyExists)
    spdlog::error("create bucket {} (in the bucket metadata): {}", bucket, cs.ToString());
}

Status TargetCluster::SyncMaps() {
  AISLE_ASSIGN_OR_RETURN(
      HttpResponse resp,
      PostToPrimary("/v1/cluster/keepalive/" + opts_.self.id,
                    R"({"smap_version":0,"bmd_version":0,"etlmd_version":0})", milliseconds(5000)));
  if (resp.status != 200 || resp.body.empty())
    return Status::Unavailable("sync maps from the primary: status " + std::to_string(resp.status));
  Status st = ApplyMetasync(resp.body);
  return st.code() == StatusCode::kConflict ? Status::OK() : st;
}

void TargetCluster::KeepaliveLoop() {
  int failures = 0;
  while (!stop_) {
    for (int slept = 0; slept < opts_.keepalive_ms && !stop_; slept += 50)
      std::this_thread::sleep_for(milliseconds(50));
    if (stop_) break;
    json body = {{"smap_version", state_.smap()->version},
                 {"bmd_version", state_.bmd()->version},
                 {"etlmd_version", state_.etlmd()->version}};
    auto resp =
        PostToPrimary("/v1/cluster/keepalive/" + opts_.self.id, body.dump(), milliseconds(5000));
    if (!resp.ok()) {
      if (failures++ % 10 == 0) spdlog::warn("keepalive: {}", resp.status().ToString());
      continue;
    }
    failures = 0;
    if (resp->status == 404) {  // the primary does not know us (e.g. it lost its state)
      Status st = Join();
      if (!st.ok()) spdlog::warn("rejoin: {}", st.ToString());
      continue;
    }
    if (resp->status == 200 && !resp->body.empty()) {
      Status st = ApplyMetasync(resp->body);
      if (!st.ok() && st.code() != StatusCode::kConflict)
        spdlog::warn("keepalive maps: {}", st.ToString());
    }
  }
}

Result<std::optional<std::string>> TargetCluster::RemoteChecksum(const std::string& to,
                                                                 std::string_view bucket,
                                                                 std::string_view object) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = ObjectUrl(to, bucket, object) + "?local=true";
  req.headers = {{kIntraHeader, opts_.self.id}};
  req.max_retries = 1;
  req.total_timeout = milliseconds(10000);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, peers_->Do(req));
  if (resp.status == 404) return std::optional<std::string>();
  if (resp.status != 200)
    return Status::Unavailable("HEAD " + req.url + ": status " + std::to_string(resp.status));
  return std::optional<std::string>(resp.Header("Ais-Checksum-Value").value_or("") + "/" +
                                    resp.Header("Ais-Version").value_or("0"));
}

Status TargetCluster::PushObject(const std::string& to, std::string_view bucket,
                                 std::string_view object, bool replica_only) {
  Status st = PushOnce(to, bucket, object, replica_only);
  if (st.code() != StatusCode::kDataCorruption) return st;
  // Our copy is bad: never propagate it; take a good one from another target, then push that.
  spdlog::error("{}", st.ToString());
  if (!RepairFromCopy(bucket, object).ok()) return st;
  return PushOnce(to, bucket, object, replica_only);
}

Status TargetCluster::PushOnce(const std::string& to, std::string_view bucket,
                               std::string_view object, bool replica_only) {
  auto opened = store_->Get(bucket, object);
  if (!opened.ok() && opened.status().code() == StatusCode::kDataCorruption) {
    // A header that does not decode: the file is not an object any more.
    (void)store_->Quarantine(bucket, object, nullptr);
    return opened.status().WithSubject(Subject::kObject);
  }
  AISLE_ASSIGN_OR_RETURN(storage::ObjectReader r, std::move(opened));
  VerifyingReader body(r, bucket);
  HttpRequest req;
  req.method = "PUT";
  req.url = ObjectUrl(to, bucket, object) + (replica_only ? "?replica=true" : "");
  req.headers = {{kIntraHeader, opts_.self.id},
                 {"Ais-Checksum-Type", "xxhash"},
                 {"Ais-Checksum-Value", Hex64(r.meta.xxhash)},
                 {"Ais-Version", std::to_string(r.meta.version)},
                 {"Aisle-Mtime", std::to_string(r.meta.mtime_ns)},
                 {"Content-Length", std::to_string(r.meta.size)}};
  for (const auto& [k, v] : r.meta.custom) req.headers.emplace_back("Ais-Custom-Md", k + "=" + v);
  req.body = static_cast<BodyReader*>(&body);
  req.follow_redirects = false;
  req.max_retries = 0;
  auto sent = peers_->Do(req);
  if (!body.corrupt().ok()) {
    (void)store_->Quarantine(bucket, object, &r);
    return body.corrupt();
  }
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, std::move(sent));
  if (resp.status != 200) {
    return Status::Unavailable("copy " + storage::ObjectCname(bucket, object) + " to " + to +
                               ": status " + std::to_string(resp.status) + " " + resp.body);
  }
  return Status::OK();
}

Status TargetCluster::Replicate(std::string_view bucket, std::string_view object) {
  int copies = CopiesOf(bucket);
  if (copies <= 1) return Status::OK();
  auto smap = state_.smap();
  int written = 1;
  for (const Node* n : smap->RankTargets(bucket, object, static_cast<size_t>(copies))) {
    if (n->id == opts_.self.id) continue;
    AISLE_RETURN_IF_ERROR(PushObject(n->Url(), bucket, object, true));
    ++written;
  }
  if (written < copies && static_cast<int>(smap->ActiveTargets().size()) >= copies)
    return Status::Unavailable("wrote " + std::to_string(written) + " of " +
                               std::to_string(copies) + " copies");
  return Status::OK();
}

bool TargetCluster::ValidateGet(std::string_view bucket) const {
  auto bmd = state_.bmd();
  const BucketProps* p = bmd->Find(bucket);
  return p && p->ValidateGet();
}

Status TargetCluster::RepairFromCopy(std::string_view bucket, std::string_view object) {
  auto smap = state_.smap();
  Status last = Status::NotFound("no other target holds a good copy of " +
                                 storage::ObjectCname(bucket, object))
                    .WithSubject(Subject::kObject);
  for (const Node* n : smap->RankTargets(bucket, object, smap->targets.size())) {
    if (n->id == opts_.self.id) continue;
    AISLE_ASSIGN_OR_RETURN(storage::FileHandle spool, store_->OpenSpool());
    uint64_t size = 0;
    HttpRequest get;
    get.url = ObjectUrl(n->Url(), bucket, object) + "?local=true";
    get.headers = {{kIntraHeader, opts_.self.id}};
    get.max_retries = 1;
    get.on_body = [&](std::string_view chunk) {
      Status w = storage::PwriteAll(spool.get(), chunk.data(), chunk.size(), size, "spool");
      size += chunk.size();
      return w;
    };
    auto resp = peers_->Do(get);
    if (!resp.ok() || resp->status != 200) {
      if (resp.ok() && resp->status != 404) last = StatusFromRemote(*resp, "repair from " + n->id);
      continue;
    }
    storage::PutOptions po;
    uint64_t sum = 0;
    if (!ParseHex64(resp->Header("Ais-Checksum-Value").value_or(""), &sum)) continue;
    po.expected_xxhash = sum;
    po.version = std::strtoull(resp->Header("Ais-Version").value_or("0").c_str(), nullptr, 10);
    if (*po.version == 0) po.version.reset();
    if (auto m = resp->Header("Aisle-Mtime")) po.mtime_ns = std::strtoll(m->c_str(), nullptr, 10);
    for (const std::string& kv : resp->HeaderValues("Ais-Custom-Md")) {
      size_t eq = kv.find('=');
      if (eq != std::string::npos && eq > 0)
        po.custom.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    auto put = store_->PutRanges(bucket, object, {{spool.get(), 0, size}}, po);
    if (put.ok()) {
      spdlog::warn("repaired {} from the copy on {}", storage::ObjectCname(bucket, object), n->id);
      return Status::OK();
    }
    last = put.status();
  }
  return last;
}

std::optional<std::string> TargetCluster::FindElsewhere(std::string_view bucket,
                                                        std::string_view object) {
  auto smap = state_.smap();
  // Previous owners first: the HRW order over all active targets.
  for (const Node* n : smap->RankTargets(bucket, object, smap->targets.size())) {
    if (n->id == opts_.self.id) continue;
    auto cs = RemoteChecksum(n->Url(), bucket, object);
    if (cs.ok() && cs->has_value()) return n->Url();
  }
  return std::nullopt;
}

RebalanceStats TargetCluster::rebalance_stats() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return stats_;
}

void TargetCluster::TriggerRebalance() {
  std::lock_guard<std::mutex> l(reb_mu_);
  reb_wanted_++;
  reb_cv_.notify_all();
}

void TargetCluster::RebalanceLoop() {
  int64_t done = 0;
  while (!stop_) {
    int64_t want;
    {
      std::unique_lock<std::mutex> l(reb_mu_);
      reb_cv_.wait(l, [&] { return stop_ || reb_wanted_ != done; });
      if (stop_) return;
      want = reb_wanted_;
    }
    // Let a burst of map changes (several joins) settle into one pass.
    std::this_thread::sleep_for(milliseconds(300));
    {
      std::lock_guard<std::mutex> l(reb_mu_);
      want = reb_wanted_;
    }
    // Each pass is a job ("rebalance") in the node's registry: progress, abort, history.
    std::string id = jobs_->Start("rebalance", "", "", [this, want](jobs::Job& job) {
      RunRebalance(want, &job);
      RebalanceStats s = rebalance_stats();
      if (s.aborted && job.aborted()) return Status::Conflict("aborted");
      return s.errors ? Status::Unavailable(s.last_error) : Status::OK();
    });
    while (!stop_) {
      auto snap = jobs_->Get(id);
      if (!snap || snap->state != jobs::JobState::kRunning) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    done = want;
    if (rebalance_stats().errors > 0 && !stop_) {
      // Some peer was unreachable: try again shortly even without a map change.
      for (int i = 0; i < 40 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(50));
      std::lock_guard<std::mutex> l(reb_mu_);
      if (reb_wanted_ == done) reb_wanted_++;
    }
  }
}

void TargetCluster::RunRebalance(int64_t generation, jobs::Job* job) {
  int64_t version = state_.smap()->version;
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_ = RebalanceStats();
    stats_.id = "reb-" + std::to_string(version) + "." + std::to_string(generation);
    stats_.smap_version = version;
    stats_.running = true;
    stats_.start_ns = NowNs();
  }
  auto bump = [&](auto fn) {
    std::lock_guard<std::mutex> l(stats_mu_);
    fn(stats_);
  };
  auto superseded = [&] {
    std::lock_guard<std::mutex> l(reb_mu_);
    return stop_ || reb_wanted_ != generation || (job && job->aborted());
  };
  bool aborted = false;
  for (const auto& bucket : store_->ListBuckets()) {
    storage::ListOptions lo;
    lo.page_size = 1000;
    for (;;) {
      auto page = store_->List(bucket.name, lo);
      if (!page.ok()) break;
      for (const auto& e : page->entries) {
        if (superseded()) {
          aborted = true;
          break;
        }
        bump([](RebalanceStats& s) { s.objects_scanned++; });
        if (job) job->AddInput(1, e.size);
        auto smap = state_.smap();
        RebalanceStep step =
            PlanRebalance(*smap, opts_.self.id, bucket.name, e.name, CopiesOf(bucket.name));
        Status st;
        if (step.action == RebalanceAction::kRestoreCopies) {
          // The owner restores missing copies.
          for (size_t i = 0; i < step.targets.size() && st.ok(); ++i) {
            auto cs = RemoteChecksum(step.targets[i]->Url(), bucket.name, e.name);
            if (!cs.ok()) {
              st = cs.status();
            } else if (!cs->has_value()) {
              st = PushObject(step.targets[i]->Url(), bucket.name, e.name, true);
              if (st.ok()) {
                bump([&](RebalanceStats& s) { s.objects_copied++, s.bytes_copied += e.size; });
                if (job) job->AddOutput(1, e.size);
              }
            }
          }
        } else if (step.action == RebalanceAction::kMove) {
          // Move to the owner unless it already has this or a newer version, then drop ours.
          const std::string owner = step.targets[0]->Url();
          auto cs = RemoteChecksum(owner, bucket.name, e.name);
          if (!cs.ok()) {
            st = cs.status();
          } else {
            std::string local = Hex64(e.xxhash) + "/" + std::to_string(e.version);
            bool have = cs->has_value() && OwnerCopyIsCurrent(**cs, local, e.version);
            if (!have) st = PushObject(owner, bucket.name, e.name, false);
            if (st.ok()) {
              st = store_->Delete(bucket.name, e.name);
              if (st.IsNotFound()) st = Status::OK();
              if (st.ok()) {
                bump([&](RebalanceStats& s) { s.objects_moved++, s.bytes_moved += e.size; });
                moved_objects_.fetch_add(1, std::memory_order_relaxed);
                moved_bytes_.fetch_add(e.size, std::memory_order_relaxed);
                if (job) job->AddOutput(1, e.size);
              }
            }
          }
        }
        if (!st.ok()) {
          bump([&](RebalanceStats& s) { s.errors++, s.last_error = st.ToString(); });
          if (job) job->NoteError(st.ToString());
        }
      }
      if (aborted || page->next_token.empty()) break;
      lo.start_after = page->next_token;
    }
    if (aborted) break;
  }
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.running = false;
  stats_.aborted = aborted;
  stats_.end_ns = NowNs();
  if (!aborted && (stats_.objects_moved || stats_.objects_copied || stats_.errors)) {
    spdlog::info("rebalance {}: moved {} ({} B), copied {}, errors {}", stats_.id,
                 stats_.objects_moved, stats_.bytes_moved, stats_.objects_copied, stats_.errors);
  }
}

}  // namespace aisle::cluster
