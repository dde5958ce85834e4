#include "server/cluster/cluster_map.h"

#include <nlohmann/json.hpp>

#include "common/hrw.h"

namespace aisle::cluster {

using nlohmann::json;

const char* NodeStateName(NodeState s) {
  switch (s) {
    case NodeState::kOnline: return "online";
    case NodeState::kDown: return "down";
    case NodeState::kMaintenance: return "maintenance";
  }
  return "unknown";
}

namespace {

NodeState StateFromName(const std::string& s) {
  if (s == "down") return NodeState::kDown;
  if (s == "maintenance") return NodeState::kMaintenance;
  return NodeState::kOnline;
}

// AIStore Snode flags: 4 = maintenance. "Down" is our own extension field.
json NodeJson(const Node& n) {
  json net = {
      {"node_ip_addr", n.host}, {"daemon_port", std::to_string(n.port)}, {"direct_url", n.Url()}};
  return {{"public_net", net},        {"intra_control_net", net},
          {"intra_data_net", net},    {"daemon_type", n.role},
          {"daemon_id", n.id},        {"flags", n.state == NodeState::kMaintenance ? 4 : 0},
          {"id_digest", n.id_digest}, {"aisle_state", NodeStateName(n.state)}};
}

Result<Node> ParseNode(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("node must be a JSON object");
  Node n;
  try {
    n.id = j.at("daemon_id").get<std::string>();
    n.role = j.at("daemon_type").get<std::string>();
    const json& net = j.at("public_net");
    n.host = net.at("node_ip_addr").get<std::string>();
    const json& port = net.at("daemon_port");
    int p = port.is_string() ? std::stoi(port.get<std::string>()) : port.get<int>();
    if (p <= 0 || p > 65535) return Status::InvalidArgument("node port out of range");
    n.port = static_cast<uint16_t>(p);
    if (net.contains("direct_url") && net["direct_url"].is_string())
      n.tls = net["direct_url"].get<std::string>().rfind("https://", 0) == 0;
    if (j.contains("aisle_state")) n.state = StateFromName(j["aisle_state"].get<std::string>());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed node: ") + e.what());
  }
  if (n.id.empty() || n.id.size() > 64)
    return Status::InvalidArgument("node id must be 1..64 characters");
  for (char c : n.id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return Status::InvalidArgument("node id \"" + n.id + "\" has invalid characters");
  }
  if (n.role != "proxy" && n.role != "target")
    return Status::InvalidArgument("node role must be proxy or target");
  n.id_digest = HrwDigest(n.id);
  return n;
}

}  // namespace

const Node* Smap::FindNode(std::string_view id) const {
  if (auto it = targets.find(std::string(id)); it != targets.end()) return &it->second;
  if (auto it = proxies.find(std::string(id)); it != proxies.end()) return &it->second;
  return nullptr;
}

const Node* Smap::Primary() const {
  auto it = proxies.find(primary_id);
  return it == proxies.end() ? nullptr : &it->second;
}

std::vector<const Node*> Smap::ActiveTargets() const {
  std::vector<const Node*> out;
  for (const auto& [id, n] : targets) {
    if (n.state == NodeState::kOnline) out.push_back(&n);
  }
  return out;
}

namespace {
std::vector<const Node*> RankByHrw(const std::vector<const Node*>& candidates,
                                   std::string_view bucket, std::string_view object, size_t n) {
  uint64_t digest = HrwDigest(MakeUname(bucket, object));
  std::vector<std::pair<uint64_t, const Node*>> scored;
  for (const Node* t : candidates) scored.emplace_back(HrwScore(t->id_digest, digest), t);
  // Highest score first; ties (practically never) by id, like AIStore's last-wins on equal.
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->id > b.second->id;
  });
  std::vector<const Node*> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(scored[i].second);
  return out;
}
}  // namespace

std::vector<const Node*> Smap::RankTargets(std::string_view bucket, std::string_view object,
                                           size_t n) const {
  return RankByHrw(ActiveTargets(), bucket, object, n);
}

std::vector<const Node*> Smap::RankHolders(std::string_view bucket, std::string_view object,
                                           size_t n) const {
  std::vector<const Node*> candidates;
  for (const auto& [id, t] : targets) {
    if (t.state != NodeState::kMaintenance) candidates.push_back(&t);
  }
  return RankByHrw(candidates, bucket, object, n);
}

const Node* Smap::DownHolder(std::string_view bucket, std::string_view object,
                             size_t copies) const {
  for (const Node* t : RankHolders(bucket, object, copies)) {
    if (t->state == NodeState::kDown) return t;
  }
  return nullptr;
}

const Node* Smap::AllHoldersDown(std::string_view bucket, std::string_view object,
                                 size_t copies) const {
  auto holders = RankHolders(bucket, object, copies);
  for (const Node* n : holders) {
    if (n->state != NodeState::kDown) return nullptr;
  }
  return holders.empty() ? nullptr : holders.front();
}

const Node* Smap::FirstDownTarget() const {
  for (const auto& [id, t] : targets) {
    if (t.state == NodeState::kDown) return &t;
  }
  return nullptr;
}

const Node* Smap::Owner(std::string_view bucket, std::string_view object) const {
  auto r = RankTargets(bucket, object, 1);
  return r.empty() ? nullptr : r[0];
}

std::string NodeToJson(const Node& node) { return NodeJson(node).dump(); }

Result<Node> NodeFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON node");
  return ParseNode(j);
}

std::string SmapToJson(const Smap& smap) {
  json pmap = json::object(), tmap = json::object();
  for (const auto& [id, n] : smap.proxies) pmap[id] = NodeJson(n);
  for (const auto& [id, n] : smap.targets) tmap[id] = NodeJson(n);
  const Node* p = smap.Primary();
  json j = {{"pmap", pmap},
            {"tmap", tmap},
            {"proxy_si", p ? NodeJson(*p) : json(nullptr)},
            {"uuid", smap.uuid},
            {"creation_time", std::to_string(smap.created_ns)},
            {"version", std::to_string(smap.version)}};
  return j.dump();
}

Result<Smap> SmapFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("malformed JSON cluster map");
  Smap s;
  try {
    const json& v = j.at("version");
    s.version = v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
    s.uuid = j.value("uuid", "");
    if (j.contains("creation_time") && j["creation_time"].is_string())
      s.created_ns = std::stoll("0" + j["creation_time"].get<std::string>());
    for (const char* key : {"pmap", "tmap"}) {
      if (!j.contains(key) || !j[key].is_object()) continue;
      for (auto it = j[key].begin(); it != j[key].end(); ++it) {
        auto n = ParseNode(it.value());
        if (!n.ok()) return n.status();
        (n->role == "proxy" ? s.proxies : s.targets)[n->id] = *n;
      }
    }
    if (j.contains("proxy_si") && j["proxy_si"].is_object())
      s.primary_id = j["proxy_si"].value("daemon_id", "");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed cluster map: ") + e.what());
  }
  if (s.version < 0) return Status::InvalidArgument("negative cluster map version");
  return s;
}

std::string BmdToJson(const Bmd& bmd) {
  json buckets = json::object();
  for (const auto& [name, p] : bmd.buckets)
    buckets[name] = {{"copies", p.copies},
                     {"created", std::to_string(p.created_ns)},
                     {"checksum",
                      {{"type", "xxhash"},
                       {"validate_warm_get", p.validate_warm_get},
                       {"validate_cold_get", p.validate_cold_get}}}};
  return json{{"version", std::to_string(bmd.version)}, {"uuid", bmd.uuid}, {"buckets", buckets}}
      .dump();
}

Result<Bmd> BmdFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("malformed JSON bucket metadata");
  Bmd b;
  try {
    const json& v = j.at("version");
    b.version = v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
    b.uuid = j.value("uuid", "");
    for (auto it = j.at("buckets").begin(); it != j.at("buckets").end(); ++it) {
      BucketProps p;
      p.copies = it.value().value("copies", 1);
      if (it.value().contains("created"))
        p.created_ns = std::stoll("0" + it.value()["created"].get<std::string>());
      if (p.copies < 1 || p.copies > 16) return Status::InvalidArgument("copies must be 1..16");
      if (auto c = it.value().find("checksum"); c != it.value().end() && c->is_object()) {
        p.validate_warm_get = c->value("validate_warm_get", false);
        p.validate_cold_get = c->value("validate_cold_get", false);
      }
      b.buckets[it.key()] = p;
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed bucket metadata: ") + e.what());
  }
  return b;
}

std::shared_ptr<const Smap> ClusterState::smap() const {
  std::lock_guard<std::mutex> l(mu_);
  return smap_;
}
std::shared_ptr<const Bmd> ClusterState::bmd() const {
  std::lock_guard<std::mutex> l(mu_);
  return bmd_;
}
Status ClusterState::SetSmap(Smap next, bool force) {
  std::lock_guard<std::mutex> l(mu_);
  if (!force && next.version <= smap_->version) {
    return Status::Conflict("stale cluster map: version " + std::to_string(next.version) +
                            " is not newer than " + std::to_string(smap_->version));
  }
  smap_ = std::make_shared<const Smap>(std::move(next));
  return Status::OK();
}
Status ClusterState::SetBmd(Bmd next, bool force) {
  std::lock_guard<std::mutex> l(mu_);
  if (!force && next.version <= bmd_->version) {
    return Status::Conflict("stale bucket metadata: version " + std::to_string(next.version) +
                            " is not newer than " + std::to_string(bmd_->version));
  }
  bmd_ = std::make_shared<const Bmd>(std::move(next));
  return Status::OK();
}

Status ClusterState::SetEtlMd(EtlMd next, bool force) {
  std::lock_guard<std::mutex> l(mu_);
  if (!force && next.version <= etlmd_->version) {
    return Status::Conflict("stale etl metadata: version " + std::to_string(next.version) +
                            " is not newer than " + std::to_string(etlmd_->version));
  }
  etlmd_ = std::make_shared<const EtlMd>(std::move(next));
  return Status::OK();
}

Result<Installed> ClusterState::InstallNewer(MapSet next) {
  std::lock_guard<std::mutex> l(mu_);
  auto stale = [](const char* what, int64_t v, int64_t have) {
    return Status::Conflict(std::string("stale ") + what + ": version " + std::to_string(v) +
                            " is older than " + std::to_string(have) + "; nothing applied");
  };
  if (next.smap && next.smap->version < smap_->version)
    return stale("cluster map", next.smap->version, smap_->version);
  if (next.bmd && next.bmd->version < bmd_->version)
    return stale("bucket metadata", next.bmd->version, bmd_->version);
  if (next.etlmd && next.etlmd->version < etlmd_->version)
    return stale("etl metadata", next.etlmd->version, etlmd_->version);
  Installed done;
  done.old_bmd = bmd_;
  if (next.smap && next.smap->version > smap_->version) {
    smap_ = std::make_shared<const Smap>(std::move(*next.smap));
    done.smap = true;
  }
  if (next.bmd && next.bmd->version > bmd_->version) {
    bmd_ = std::make_shared<const Bmd>(std::move(*next.bmd));
    done.bmd = true;
  }
  if (next.etlmd && next.etlmd->version > etlmd_->version) {
    etlmd_ = std::make_shared<const EtlMd>(std::move(*next.etlmd));
    done.etlmd = true;
  }
  if (!done.smap && !done.bmd && !done.etlmd)
    return Status::Conflict("stale metadata: no map is newer than this node's (cluster map v" +
                            std::to_string(smap_->version) + ")");
  return done;
}

Result<MapSet> MapSetFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("malformed metasync message");
  MapSet m;
  if (j.contains("smap") && j["smap"].is_object()) {
    AISLE_ASSIGN_OR_RETURN(Smap s, SmapFromJson(j["smap"].dump()));
    m.smap = std::move(s);
  }
  if (j.contains("bmd") && j["bmd"].is_object()) {
    AISLE_ASSIGN_OR_RETURN(Bmd b, BmdFromJson(j["bmd"].dump()));
    m.bmd = std::move(b);
  }
  if (j.contains("etlmd") && j["etlmd"].is_object()) {
    AISLE_ASSIGN_OR_RETURN(EtlMd e, EtlMdFromJson(j["etlmd"].dump()));
    m.etlmd = std::move(e);
  }
  return m;
}

std::shared_ptr<const EtlMd> ClusterState::etlmd() const {
  std::lock_guard<std::mutex> l(mu_);
  return etlmd_;
}

std::string EtlMdToJson(const EtlMd& md) {
  json etls = json::object();
  for (const auto& [name, e] : md.etls) etls[name] = {{"msg", e.msg}, {"running", e.running}};
  return json{{"version", std::to_string(md.version)}, {"etls", etls}}.dump();
}

Result<EtlMd> EtlMdFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("malformed etl metadata");
  EtlMd md;
  const json& v = j.contains("version") ? j["version"] : json();
  if (v.is_string())
    md.version = std::strtoll(v.get<std::string>().c_str(), nullptr, 10);
  else if (v.is_number_integer())
    md.version = v.get<int64_t>();
  if (j.contains("etls") && j["etls"].is_object()) {
    for (auto it = j["etls"].begin(); it != j["etls"].end(); ++it) {
      if (!it.value().is_object() || !it.value().contains("msg") || !it.value()["msg"].is_string())
        return Status::InvalidArgument("malformed etl metadata entry \"" + it.key() + "\"");
      md.etls[it.key()] = {it.value()["msg"].get<std::string>(), it.value().value("running", true)};
    }
  }
  return md;
}

}  // namespace aisle::cluster
