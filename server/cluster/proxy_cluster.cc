#include "server/cluster/proxy_cluster.h"

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/logging.h"
#include "common/net/http_errors.h"
#include "server/cluster/target_cluster.h"
#include "server/storage/file_util.h"

namespace aisle::cluster {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

}  // namespace

ProxyCluster::ProxyCluster(Options opts, PeerClient* peers)
    : opts_(std::move(opts)), peers_(peers) {
  primary_ = opts_.primary_url.empty() && opts_.etcd.empty();
  leader_url_ = opts_.primary_url;
  no_primary_ = "waiting for the etcd election";
}

std::string ProxyCluster::primary_url() const {
  std::lock_guard<std::mutex> l(leader_mu_);
  return leader_url_;
}

Status ProxyCluster::NoPrimary() const {
  std::lock_guard<std::mutex> l(leader_mu_);
  return Status::Unavailable("no primary proxy: " + no_primary_);
}

Status ProxyCluster::CheckPrimary() const {
  if (primary_) return Status::OK();
  if (!etcd_mode()) return Status::InvalidArgument("not the primary: " + opts_.primary_url);
  std::lock_guard<std::mutex> l(leader_mu_);
  return Status::Unavailable("this proxy is not the primary (" + no_primary_ + ")");
}
ProxyCluster::~ProxyCluster() { Stop(); }

std::string ProxyCluster::MetasyncBody() const {
  return json{{"smap", json::parse(SmapToJson(*state_.smap()))},
              {"bmd", json::parse(BmdToJson(*state_.bmd()))},
              {"etlmd", json::parse(EtlMdToJson(*state_.etlmd()))}}
      .dump();
}

void ProxyCluster::InstallMapsForTest(Smap smap, Bmd bmd) {
  (void)state_.SetSmap(std::move(smap), true);
  (void)state_.SetBmd(std::move(bmd), true);
  ready_ = true;
}

Status ProxyCluster::LoadPersisted() {
  Smap smap;
  Bmd bmd;
  auto s = storage::ReadFile(opts_.data_dir + "/smap.json");
  if (s.ok()) {
    AISLE_ASSIGN_OR_RETURN(smap, SmapFromJson(*s));
  } else {
    smap.uuid = storage::RandomHex(12);
    smap.created_ns = NowNs();
  }
  auto b = storage::ReadFile(opts_.data_dir + "/bmd.json");
  if (b.ok()) {
    AISLE_ASSIGN_OR_RETURN(bmd, BmdFromJson(*b));
  } else {
    bmd.uuid = smap.uuid;
  }
  // This proxy is the primary, at its current address; every known node gets a grace period.
  Node self = opts_.self;
  self.state = NodeState::kOnline;
  smap.proxies[self.id] = self;
  smap.primary_id = self.id;
  smap.version++;
  // Known nodes are not confirmed alive until they speak (so a restarted node may rejoin from
  // a new address); down detection counts from now.
  started_ = Clock::now();
  if (s.ok())
    spdlog::info("loaded cluster map v{} ({} targets) and {} bucket(s)", smap.version,
                 smap.targets.size(), bmd.buckets.size());
  if (auto e = storage::ReadFile(opts_.data_dir + "/etlmd.json"); e.ok()) {
    AISLE_ASSIGN_OR_RETURN(EtlMd md, EtlMdFromJson(*e));
    (void)state_.SetEtlMd(std::move(md), true);
  }
  AISLE_RETURN_IF_ERROR(Persist(smap, bmd));
  AISLE_RETURN_IF_ERROR(state_.SetSmap(std::move(smap), true));
  return state_.SetBmd(std::move(bmd), true);
}

Status ProxyCluster::Persist(const Smap& smap, const Bmd& bmd) {
  AISLE_RETURN_IF_ERROR(storage::WriteFileAtomic(opts_.data_dir + "/smap.json", SmapToJson(smap)));
  return storage::WriteFileAtomic(opts_.data_dir + "/bmd.json", BmdToJson(bmd));
}

Status ProxyCluster::Start(milliseconds wait) {
  if (etcd_mode()) {
    AISLE_RETURN_IF_ERROR(storage::MakeDirs(opts_.data_dir));
    etcd_ = std::make_unique<etcd::EtcdClient>(opts_.etcd);
    meta_ = std::make_unique<EtcdMeta>(etcd_.get(), opts_.etcd_prefix);
    election_ = std::make_unique<EtcdElection>(
        etcd_.get(), meta_->leader_key(), EtcdMeta::LeaderValue(opts_.self.id, opts_.self.Url()),
        opts_.lease_ttl_s);
    auto deadline = Clock::now() + wait;
    auto snap = meta_->Load();
    while (!snap.ok() && Clock::now() < deadline && !stop_) {
      std::this_thread::sleep_for(milliseconds(300));
      snap = meta_->Load();
    }
    if (!snap.ok()) return snap.status().WithContext("load the cluster maps from etcd");
    ApplySnapshot(*snap);
    // One round before serving: the first proxy of a new cluster is primary when ready.
    auto round = election_->Tick();
    if (round.leader) {
      Status st = BecomePrimary(round.lease);
      if (!st.ok()) StepDown("could not take over as primary: " + st.message());
    }
    ready_ = true;
    monitor_thread_ = std::thread([this] { MonitorLoop(); });
    etcd_threads_.emplace_back([this] { ElectionLoop(); });
    etcd_threads_.emplace_back([this] { WatchLoop(); });
    etcd_threads_.emplace_back([this] { KeepaliveLoop(); });
    return Status::OK();
  }
  if (is_primary()) {
    AISLE_RETURN_IF_ERROR(storage::MakeDirs(opts_.data_dir));
    {
      std::lock_guard<std::mutex> l(mu_);
      AISLE_RETURN_IF_ERROR(LoadPersisted());
    }
    ready_ = true;
    monitor_thread_ = std::thread([this] { MonitorLoop(); });
    return Status::OK();
  }
  auto deadline = Clock::now() + wait;
  Status st;
  while (!(st = JoinPrimary()).ok() && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(200));
  if (!st.ok()) return st.WithContext("join " + opts_.primary_url);
  ready_ = true;
  monitor_thread_ = std::thread([this] { KeepaliveLoop(); });
  return Status::OK();
}

void ProxyCluster::Stop() {
  if (stop_.exchange(true)) return;
  if (monitor_thread_.joinable()) monitor_thread_.join();
  for (auto& t : etcd_threads_) t.join();
  etcd_threads_.clear();
}

void ProxyCluster::StepDown(const std::string& why) {
  bool was = primary_.exchange(false);
  lease_ = 0;
  {
    std::lock_guard<std::mutex> l(leader_mu_);
    leader_url_.clear();
    no_primary_ = why;
  }
  if (was) spdlog::warn("stepping down as primary: {}", why);
}

Status ProxyCluster::CommitEtcd(const Smap* smap, const Bmd* bmd, const EtlMd* etlmd) {
  auto r = meta_->Commit(lease_, smap, bmd, etlmd);
  if (!r.ok()) {
    StepDown(r.status().message());
    return Status::Unavailable("metadata change not committed: " + r.status().message());
  }
  if (!*r) {
    StepDown("fenced by etcd: this proxy's lease or view of the metadata is stale");
    return Status::Unavailable(
        "metadata change refused by etcd (fenced): this proxy is no longer the primary");
  }
  return Status::OK();
}

Status ProxyCluster::BecomePrimary(int64_t lease) {
  std::lock_guard<std::mutex> l(mu_);
  AISLE_ASSIGN_OR_RETURN(EtcdSnapshot snap, meta_->Load());
  meta_->Adopt(snap);
  Smap smap;
  if (snap.smap) {
    smap = std::move(*snap.smap);
  } else {
    smap.uuid = storage::RandomHex(12);
    smap.created_ns = NowNs();
  }
  Bmd bmd = snap.bmd ? std::move(*snap.bmd) : Bmd{};
  if (!snap.bmd) bmd.uuid = smap.uuid;
  EtlMd etlmd = snap.etlmd ? std::move(*snap.etlmd) : *state_.etlmd();
  // Versions only grow, also past what this proxy installed from pushes.
  smap.version = std::max(smap.version, state_.smap()->version);
  Node self = opts_.self;
  self.state = NodeState::kOnline;
  smap.proxies[self.id] = self;
  smap.primary_id = self.id;
  smap.version++;
  lease_ = lease;
  AISLE_RETURN_IF_ERROR(
      CommitEtcd(&smap, snap.bmd ? nullptr : &bmd, snap.etlmd ? nullptr : &etlmd));
  (void)state_.SetSmap(smap, true);
  if (bmd.version >= state_.bmd()->version) (void)state_.SetBmd(std::move(bmd), true);
  if (etlmd.version >= state_.etlmd()->version) (void)state_.SetEtlMd(std::move(etlmd), true);
  // Every node gets a grace period from now, as after a restart of the primary.
  {
    std::lock_guard<std::mutex> sl(seen_mu_);
    last_seen_.clear();
    started_ = Clock::now();
  }
  {
    std::lock_guard<std::mutex> ll(leader_mu_);
    leader_url_.clear();
  }
  primary_ = true;
  spdlog::info("elected primary through etcd (cluster map v{}, {} targets)", smap.version,
               smap.targets.size());
  // Pushed by the monitor thread: this one must keep renewing the lease.
  push_pending_ = true;
  return Status::OK();
}

void ProxyCluster::ElectionLoop() {
  // Keepalives at TTL/6: a missed one or two still leaves time to renew before expiry.
  int tick_ms = std::max(100, opts_.lease_ttl_s * 1000 / 6);
  while (!stop_) {
    for (int slept = 0; slept < tick_ms && !stop_; slept += 50)
      std::this_thread::sleep_for(milliseconds(50));
    if (stop_) break;
    auto r = election_->Tick();
    if (r.leader && !primary_) {
      Status st = BecomePrimary(r.lease);
      if (!st.ok()) StepDown("could not take over as primary: " + st.message());
    } else if (!r.leader && primary_) {
      StepDown(r.error.ok() ? "another proxy holds the etcd leader key"
                            : "etcd: " + r.error.message());
    } else if (!r.leader && !r.error.ok()) {
      std::lock_guard<std::mutex> l(leader_mu_);
      no_primary_ = "etcd: " + r.error.message();
    }
  }
  // A clean stop hands over at once instead of after the lease's TTL.
  if (primary_.exchange(false)) election_->Resign();
}

void ProxyCluster::WatchLoop() {
  // Polls (one range over the prefix) rather than streaming /v3/watch: simple over plain
  // HTTP/1.1 requests, and 250 ms is well inside the failover budget.
  while (!stop_) {
    for (int slept = 0; slept < 250 && !stop_; slept += 50)
      std::this_thread::sleep_for(milliseconds(50));
    if (stop_ || primary_) continue;
    auto snap = meta_->Load();
    if (!snap.ok()) {
      std::lock_guard<std::mutex> l(leader_mu_);
      no_primary_ = snap.status().message();
      continue;
    }
    ApplySnapshot(*snap);
  }
}

void ProxyCluster::ApplySnapshot(const EtcdSnapshot& snap) {
  if (!primary_) {
    if (snap.smap) (void)state_.InstallNewer(MapSet{snap.smap, std::nullopt, std::nullopt});
    if (snap.bmd) (void)state_.InstallNewer(MapSet{std::nullopt, snap.bmd, std::nullopt});
    if (snap.etlmd) (void)state_.InstallNewer(MapSet{std::nullopt, std::nullopt, snap.etlmd});
  }
  std::lock_guard<std::mutex> l(leader_mu_);
  if (primary_) return;
  if (snap.leader && snap.leader->id != opts_.self.id) {
    leader_url_ = snap.leader->url;
  } else {
    leader_url_.clear();
    if (!snap.leader) no_primary_ = "no proxy holds the etcd leader key (election in progress)";
  }
}

Status ProxyCluster::JoinPrimary() {
  HttpRequest req;
  req.method = "POST";
  req.url = primary_url() + "/v1/cluster/join";
  req.headers = {{"Content-Type", "application/json"}, {kIntraHeader, opts_.self.id}};
  req.body = json{{"si", json::parse(NodeToJson(opts_.self))}}.dump();
  req.max_retries = 0;
  req.total_timeout = milliseconds(10000);
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, peers_->Do(req));
  if (resp.status != 200)
    return Status::Unavailable("primary refused the join (" + std::to_string(resp.status) +
                               "): " + resp.body);
  Status st = ApplyMetasync(resp.body);
  if (st.ok() || st.code() == StatusCode::kConflict) joined_ = true;
  return st.code() == StatusCode::kConflict ? Status::OK() : st;
}

void ProxyCluster::KeepaliveLoop() {
  while (!stop_) {
    for (int slept = 0; slept < opts_.keepalive_ms && !stop_; slept += 50)
      std::this_thread::sleep_for(milliseconds(50));
    if (stop_) break;
    std::string primary = primary_url();
    if (primary_ || primary.empty()) continue;
    if (!joined_) {
      (void)JoinPrimary();
      continue;
    }
    HttpRequest req;
    req.method = "POST";
    req.url = primary + "/v1/cluster/keepalive/" + opts_.self.id;
    req.headers = {{"Content-Type", "application/json"}, {kIntraHeader, opts_.self.id}};
    req.body = json{{"smap_version", state_.smap()->version},
                    {"bmd_version", state_.bmd()->version},
                    {"etlmd_version", state_.etlmd()->version}}
                   .dump();
    req.max_retries = 0;
    req.total_timeout = milliseconds(5000);
    auto resp = peers_->Do(req);
    if (!resp.ok()) continue;
    if (resp->status == 404) {
      (void)JoinPrimary();
    } else if (resp->status == 200 && !resp->body.empty()) {
      (void)ApplyMetasync(resp->body);
    }
  }
}

Status ProxyCluster::ApplyMetasync(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(MapSet maps, MapSetFromJson(body));
  return state_.InstallNewer(std::move(maps)).status();
}

Status ProxyCluster::Publish(Smap smap, Bmd bmd) {
  if (etcd_mode()) {
    AISLE_RETURN_IF_ERROR(CommitEtcd(&smap, &bmd, nullptr));
  } else {
    AISLE_RETURN_IF_ERROR(Persist(smap, bmd));
  }
  (void)state_.SetSmap(smap, true);
  (void)state_.SetBmd(std::move(bmd), true);
  PushAll(MetasyncBody(), smap);
  return Status::OK();
}

Status ProxyCluster::UpdateEtlMd(const std::function<Status(EtlMd&)>& mutate) {
  AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  EtlMd next = *state_.etlmd();
  AISLE_RETURN_IF_ERROR(mutate(next));
  next.version++;
  if (etcd_mode()) {
    AISLE_RETURN_IF_ERROR(CommitEtcd(nullptr, nullptr, &next));
  } else {
    AISLE_RETURN_IF_ERROR(
        storage::WriteFileAtomic(opts_.data_dir + "/etlmd.json", EtlMdToJson(next)));
  }
  (void)state_.SetEtlMd(std::move(next), true);
  PushAll(MetasyncBody(), *state_.smap());
  return Status::OK();
}

void ProxyCluster::PushAll(const std::string& body, const Smap& smap) {
  std::vector<std::future<void>> pushes;
  auto push = [this, &body](std::string url) {
    HttpRequest req;
    req.method = "PUT";
    req.url = url + "/v1/metasync";
    req.headers = {{"Content-Type", "application/json"}, {kIntraHeader, opts_.self.id}};
    req.body = body;
    req.max_retries = 0;
    req.connect_timeout = milliseconds(2000);
    req.total_timeout = milliseconds(10000);
    auto resp = peers_->Do(req);
    if (!resp.ok()) spdlog::debug("metasync {}: {}", url, resp.status().ToString());
  };
  for (const auto* group : {&smap.proxies, &smap.targets}) {
    for (const auto& [id, n] : *group) {
      if (id == opts_.self.id || n.state == NodeState::kDown) continue;
      pushes.push_back(std::async(std::launch::async, push, n.Url()));
    }
  }
  for (auto& f : pushes) f.wait();
}

Status ProxyCluster::CheckJoinConflict(const Smap& smap, const Node& node) {
  if (const Node* old = smap.FindNode(node.id)) {
    bool alive = false;
    if (old->state == NodeState::kOnline) {
      std::lock_guard<std::mutex> sl(seen_mu_);
      auto it = last_seen_.find(node.id);
      alive =
          it != last_seen_.end() && Clock::now() - it->second < milliseconds(opts_.down_after_ms);
    }
    if (old->role != node.role)
      return Status::Conflict("duplicate node ID \"" + node.id + "\": already a " + old->role);
    if (alive && old->Url() != node.Url() && node.id != opts_.self.id)
      return Status::Conflict("duplicate node ID \"" + node.id + "\": already registered at " +
                              old->Url());
    if (node.id == opts_.self.id)
      return Status::Conflict("node ID \"" + node.id + "\" is the primary's");
  }
  return Status::OK();
}

Result<std::string> ProxyCluster::Join(std::string_view body, std::string_view sender) {
  if (!primary_ && !etcd_mode())
    return Status::InvalidArgument("not the primary: join " + opts_.primary_url);
  AISLE_RETURN_IF_ERROR(CheckPrimary());
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("si"))
    return Status::InvalidArgument("malformed join message: expecting {\"si\": {node}}");
  AISLE_ASSIGN_OR_RETURN(Node node, NodeFromJson(j["si"].dump()));
  if (peers_->secret()) {
    // Before the map names it (and rebalance sends it data): the node signed its own join and
    // its URL answers as it, holding the secret. Asked without holding mu_.
    if (sender != node.id)
      return Status::InvalidArgument("join of node \"" + node.id + "\" signed by \"" +
                                     std::string(sender) + "\"");
    {
      std::lock_guard<std::mutex> l(mu_);
      AISLE_RETURN_IF_ERROR(CheckJoinConflict(*state_.smap(), node));
    }
    AISLE_RETURN_IF_ERROR(peers_->CheckIdentity(node.Url(), node.id).WithContext("join"));
  }
  std::lock_guard<std::mutex> l(mu_);
  Smap smap = *state_.smap();
  Bmd bmd = *state_.bmd();
  AISLE_RETURN_IF_ERROR(CheckJoinConflict(smap, node));
  node.state = NodeState::kOnline;
  (node.role == "proxy" ? smap.proxies : smap.targets)[node.id] = node;
  smap.version++;
  bool bmd_changed = false;
  // A target brings the buckets it holds; the cluster adopts those it has never heard of
  // only while it has no bucket history (new or rebuilt primary).
  if (j.contains("buckets") && j["buckets"].is_array() && bmd.version == 0) {
    for (const auto& b : j["buckets"]) {
      if (!b.is_string() || bmd.buckets.count(b.get<std::string>())) continue;
      bmd.buckets[b.get<std::string>()] = BucketProps{1, NowNs()};
      bmd_changed = true;
    }
  }
  if (bmd_changed || bmd.version == 0) bmd.version++;
  {
    std::lock_guard<std::mutex> sl(seen_mu_);
    last_seen_[node.id] = Clock::now();
  }
  spdlog::info("{} {} joined at {} (cluster map v{})", node.role, node.id, node.Url(),
               smap.version);
  AISLE_RETURN_IF_ERROR(Publish(std::move(smap), std::move(bmd)));
  return MetasyncBody();
}

Result<std::string> ProxyCluster::Keepalive(std::string_view node_id, std::string_view body) {
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  {
    auto smap = state_.smap();
    const Node* n = smap->FindNode(node_id);
    if (!n)
      return Status::NotFound("node \"" + std::string(node_id) + "\" is not in the cluster map");
    std::lock_guard<std::mutex> sl(seen_mu_);
    last_seen_[std::string(node_id)] = Clock::now();
  }
  auto current = state_.smap();
  if (const Node* c = current->FindNode(node_id); c && c->state == NodeState::kDown) {
    std::lock_guard<std::mutex> l(mu_);
    auto smap = state_.smap();
    const Node* n = smap->FindNode(node_id);
    if (n && n->state == NodeState::kDown) {
      Smap next = *smap;
      (n->role == "proxy" ? next.proxies : next.targets)[n->id].state = NodeState::kOnline;
      next.version++;
      spdlog::info("{} {} is back online (cluster map v{})", n->role, n->id, next.version);
      AISLE_RETURN_IF_ERROR(Publish(std::move(next), *state_.bmd()));
    }
  }
  json j = json::parse(body, nullptr, false);
  int64_t sv = j.is_object() ? j.value("smap_version", int64_t{0}) : 0;
  int64_t bv = j.is_object() ? j.value("bmd_version", int64_t{0}) : 0;
  int64_t ev = j.is_object() ? j.value("etlmd_version", int64_t{0}) : 0;
  if (sv < state_.smap()->version || bv < state_.bmd()->version || ev < state_.etlmd()->version)
    return MetasyncBody();
  return std::string();
}

void ProxyCluster::MonitorLoop() {
  while (!stop_) {
    std::this_thread::sleep_for(milliseconds(std::max(50, opts_.keepalive_ms / 2)));
    if (!primary_) continue;  // etcd mode: only while elected
    std::lock_guard<std::mutex> l(mu_);
    if (push_pending_.exchange(false)) PushAll(MetasyncBody(), *state_.smap());
    Smap next = *state_.smap();
    bool changed = false;
    auto now = Clock::now();
    {
      std::lock_guard<std::mutex> sl(seen_mu_);
      for (auto* group : {&next.proxies, &next.targets}) {
        for (auto& [id, n] : *group) {
          if (id == opts_.self.id || n.state != NodeState::kOnline) continue;
          auto it = last_seen_.find(id);
          auto seen = it == last_seen_.end() ? started_ : it->second;
          if (now - seen > milliseconds(opts_.down_after_ms)) {
            n.state = NodeState::kDown;
            changed = true;
            spdlog::warn("{} {} missed keepalives: marked down", n.role, id);
          }
        }
      }
    }
    if (changed) {
      next.version++;
      Status st = Publish(std::move(next), *state_.bmd());
      if (!st.ok()) spdlog::error("publish cluster map: {}", st.ToString());
    }
  }
}

Status ProxyCluster::CreateBucket(std::string_view bucket, const BucketProps& props) {
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  Bmd bmd = *state_.bmd();
  if (bmd.buckets.count(std::string(bucket)))
    return Status::AlreadyExists("bucket \"ais://" + std::string(bucket) + "\" already exists")
        .WithSubject(Subject::kBucket);
  BucketProps p = props;
  p.created_ns = NowNs();
  bmd.buckets[std::string(bucket)] = p;
  bmd.version++;
  auto smap = state_.smap();
  return Publish(*smap, std::move(bmd));
}

Status ProxyCluster::DestroyBucket(std::string_view bucket) {
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  Bmd bmd = *state_.bmd();
  if (!bmd.buckets.erase(std::string(bucket)))
    return Status::NotFound("bucket \"ais://" + std::string(bucket) + "\" does not exist")
        .WithSubject(Subject::kBucket);
  bmd.version++;
  auto smap = state_.smap();
  return Publish(*smap, std::move(bmd));
}

Status ProxyCluster::SetBucketProps(std::string_view bucket, const BucketProps& props) {
  if (props.copies < 1 || props.copies > 16) return Status::InvalidArgument("copies must be 1..16");
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  Bmd bmd = *state_.bmd();
  auto it = bmd.buckets.find(std::string(bucket));
  if (it == bmd.buckets.end())
    return Status::NotFound("bucket \"ais://" + std::string(bucket) + "\" does not exist")
        .WithSubject(Subject::kBucket);
  bool copies_changed = it->second.copies != props.copies;
  int64_t created = it->second.created_ns;
  it->second = props;
  it->second.created_ns = created;
  bmd.version++;
  if (!copies_changed) return Publish(*state_.smap(), std::move(bmd));
  // A new smap version makes the targets run a pass that restores the copy count.
  Smap smap = *state_.smap();
  smap.version++;
  return Publish(std::move(smap), std::move(bmd));
}

Status ProxyCluster::SetNodeState(std::string_view node_id, NodeState state) {
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  Smap smap = *state_.smap();
  auto it = smap.targets.find(std::string(node_id));
  if (it == smap.targets.end())
    return Status::NotFound("target \"" + std::string(node_id) + "\" is not in the cluster map");
  it->second.state = state;
  smap.version++;
  return Publish(std::move(smap), *state_.bmd());
}

Status ProxyCluster::RemoveNode(std::string_view node_id) {
  if (etcd_mode()) AISLE_RETURN_IF_ERROR(CheckPrimary());
  std::lock_guard<std::mutex> l(mu_);
  Smap smap = *state_.smap();
  if (node_id == opts_.self.id) return Status::InvalidArgument("cannot remove the primary");
  if (!smap.targets.erase(std::string(node_id)) && !smap.proxies.erase(std::string(node_id)))
    return Status::NotFound("node \"" + std::string(node_id) + "\" is not in the cluster map");
  {
    std::lock_guard<std::mutex> sl(seen_mu_);
    last_seen_.erase(std::string(node_id));
  }
  smap.version++;
  return Publish(std::move(smap), *state_.bmd());
}

Result<MergedPage> ProxyCluster::ListObjects(std::string_view bucket, const std::string& lso_json,
                                             size_t page_size, const std::string& token) {
  auto smap = state_.smap();
  // A listing without a down target's objects would read as "those do not exist": refused
  // unless every object keeps a copy online (fewer targets down than the bucket's copies).
  // AIStore has no flag for a partial listing (docs/API.md "Listing objects").
  if (const Node* down = smap->FirstDownTarget()) {
    auto bmd = state_.bmd();
    auto b = bmd->buckets.find(std::string(bucket));
    int copies = b == bmd->buckets.end() ? 1 : b->second.copies;
    int n_down = 0;
    for (const auto& [id, t] : smap->targets) n_down += t.state == NodeState::kDown;
    if (n_down >= copies)
      return Status::Unavailable("list ais://" + std::string(bucket) + ": target " + down->id +
                                 " is down, the listing would be incomplete (try again when it "
                                 "is back)");
  }
  auto targets = smap->ActiveTargets();
  json lso = json::parse(lso_json, nullptr, false);
  if (lso.is_discarded() || !lso.is_object()) lso = json::object();
  lso["pagesize"] = page_size;
  lso["continuation_token"] = token;
  lso.erase("start_after");
  lso.erase("uuid");
  std::string body = json{{"action", "list"}, {"name", ""}, {"value", lso}}.dump();
  struct TargetPage {
    Status status;
    TargetListPage page;
  };
  std::vector<std::future<TargetPage>> futures;
  for (const Node* t : targets) {
    futures.push_back(std::async(std::launch::async, [this, url = t->Url(), &bucket, &body] {
      TargetPage tp;
      HttpRequest req;
      req.method = "GET";
      req.url = url + "/v1/buckets/" + EscapeComponent(bucket) + "?provider=ais";
      req.headers = {{"Content-Type", "application/json"}, {kIntraHeader, opts_.self.id}};
      req.body = body;
      req.total_timeout = milliseconds(60000);
      auto resp = peers_->Do(req);
      if (!resp.ok()) {
        tp.status = resp.status().WithContext("list on " + url);
        return tp;
      }
      if (resp->status != 200) {
        // A target's refusal (4xx: a missing bucket, a listing it cannot serve) is passed on
        // as it is; anything else means the target could not answer.
        bool refused = resp->status >= 400 && resp->status < 500;
        std::string why = AisErrorMessage(resp->body);
        StatusCode code = StatusCodeForHttp(resp->status);
        if (refused && code == StatusCode::kIOError) code = StatusCode::kInvalidArgument;
        tp.status = Status(refused ? code : StatusCode::kUnavailable,
                           "list on " + url + ": " + (why.empty() ? resp->body : why));
        return tp;
      }
      json j = json::parse(resp->body, nullptr, false);
      if (j.is_discarded() || !j.contains("entries")) {
        tp.status = Status::Unavailable("list on " + url + ": malformed reply");
        return tp;
      }
      for (const auto& e : j["entries"]) tp.page.entries.push_back({e.value("name", ""), e.dump()});
      tp.page.truncated = !j.value("continuation_token", "").empty();
      return tp;
    }));
  }
  std::vector<TargetPage> answers;
  for (auto& f : futures) answers.push_back(f.get());
  std::vector<TargetListPage> pages;
  for (auto& a : answers) {
    if (!a.status.ok()) return a.status;
    pages.push_back(std::move(a.page));
  }
  return MergeListPages(std::move(pages), page_size);
}

}  // namespace aisle::cluster
