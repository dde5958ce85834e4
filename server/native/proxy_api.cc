#include "server/native/proxy_api.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "common/logging.h"
#include "common/names.h"
#include "server/api/action_msg.h"
#include "server/api/errors.h"
#include "server/api/op_metrics.h"
#include "server/api/proxy_forward.h"
#include "server/api/target_routing.h"
#include "server/api/user_auth.h"
#include "server/cluster/fan_out.h"
#include "server/cluster/target_cluster.h"
#include "server/ml/moss_handlers.h"
#include "server/native/listrange.h"
#include "server/native/node_queries.h"
#include "server/native/target_api.h"
#include "server/shards/proxy_archive.h"
#include "server/storage/file_util.h"

namespace aisle::api {
namespace {

using nlohmann::json;
constexpr size_t kMaxControlBody = 1 << 20;
constexpr size_t kMaxPageSize = 10000;

uint64_t JsonUint(const json* v) {
  if (!v) return 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v->get<int64_t>()));
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos)
      return std::stoull(s.substr(0, 18));
  }
  return 0;
}

// Copies requested in a create/set-props value: {"copies":N} or AIStore's {"mirror":{"copies":N}}.
int CopiesFrom(const json& value, int dflt) {
  if (!value.is_object()) return dflt;
  if (const json* c = FindKey(value, "copies"); c && c->is_number_integer()) return c->get<int>();
  if (const json* m = FindKey(value, "mirror"); m && m->is_object()) {
    if (const json* c = FindKey(*m, "copies"); c && c->is_number_integer()) return c->get<int>();
  }
  return dflt;
}

// AIStore's {"checksum":{"type","validate_warm_get","validate_cold_get"}} of a create/set-props
// value, applied onto `p`; a type other than xxhash (or none) or a non-boolean is refused.
Status ChecksumFrom(const json& value, cluster::BucketProps* p) {
  const json* c = value.is_object() ? FindKey(value, "checksum") : nullptr;
  if (!c) return Status::OK();
  if (!c->is_object()) return Status::InvalidArgument("checksum must be an object");
  if (const json* t = FindKey(*c, "type"); t) {
    std::string type = t->is_string() ? t->get<std::string>() : "";
    if (type != "xxhash" && type != "xxhash64")
      return Status::InvalidArgument("checksum type \"" + type +
                                     "\" is not supported (this cluster stores xxhash)");
  }
  for (auto [key, field] : {std::pair{"validate_warm_get", &p->validate_warm_get},
                            std::pair{"validate_cold_get", &p->validate_cold_get}}) {
    const json* v = FindKey(*c, key);
    if (!v) continue;
    if (!v->is_boolean())
      return Status::InvalidArgument(std::string("checksum.") + key + " must be true or false");
    *field = v->get<bool>();
  }
  return Status::OK();
}

json BucketPropsJson(const cluster::BucketProps& p) {
  return {{"provider", "ais"},
          {"checksum",
           {{"type", "xxhash"},
            {"validate_warm_get", p.validate_warm_get},
            {"validate_cold_get", p.validate_cold_get}}},
          {"mirror", {{"copies", p.copies}, {"enabled", p.copies > 1}}},
          {"versioning", {{"enabled", true}}},
          {"created", std::to_string(p.created_ns)}};
}

// AIStore LsoEnt JSON -> msgpack map keys (cmn/objlist_gen.go).
json EntryToMsgpackMap(const json& e) {
  json m = json::object();
  m["n"] = e.value("name", "");
  if (e.contains("size")) m["s"] = JsonUint(&e["size"]);
  if (e.contains("checksum")) m["cs"] = e["checksum"];
  if (e.contains("atime")) m["a"] = e["atime"];
  if (e.contains("version")) m["v"] = e["version"];
  if (e.contains("location")) m["t"] = e["location"];
  if (e.contains("custom-md")) m["m"] = e["custom-md"];
  if (e.contains("copies")) m["c"] = e["copies"];
  if (e.contains("flags")) m["f"] = e["flags"];
  return m;
}

// One job's status from two targets: running while any runs; the first error; counters add.
json MergeJobStatus(json a, const json& b) {
  if (!a.is_object() || !b.is_object()) return a;
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (!a.contains(k)) {
      a[k] = v;
    } else if (k == "end_time") {
      int64_t x = a[k].is_number() ? a[k].get<int64_t>() : 0;
      int64_t y = v.is_number() ? v.get<int64_t>() : 0;
      a[k] = (x == 0 || y == 0) ? 0 : std::max(x, y);
    } else if (k == "err") {
      if (a[k].is_string() && a[k].get<std::string>().empty()) a[k] = v;
    } else if (k == "aborted" && v.is_boolean()) {
      a[k] = a[k].is_boolean() && (a[k].get<bool>() || v.get<bool>());
    } else if (k == "is_idle" && v.is_boolean()) {
      a[k] = a[k].is_boolean() && a[k].get<bool>() && v.get<bool>();
    } else if (v.is_number_unsigned() && a[k].is_number_unsigned()) {
      a[k] = a[k].get<uint64_t>() + v.get<uint64_t>();
    }
  }
  return a;
}

}  // namespace

void ProxyApi::Handle(Request& req, Response& resp) {
  std::string_view path = req.path;
  constexpr std::string_view kV1 = "/v1/";
  if (RefuseUnknownExpectation(req, resp, node_)) return;
  SignedBodyGuard signed_body;
  if (!AdmitPeer(peer_auth_, req, resp, node_, PeerRouteOf(req, true), &signed_body)) return;
  UserAdmission user;
  if (!AdmitUser(user_auth_, req, resp, node_, true, &user)) return;
  if (s3_ && path.substr(0, kV1.size()) != kV1 && s3_matches_(req)) return s3_->Handle(req, resp);
  if (path.substr(0, kV1.size()) != kV1)
    return WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node_);
  if (!IsApiMethod(req.method))
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", node_);
  std::string_view rest = path.substr(kV1.size());
  size_t slash = rest.find('/');
  std::string_view group = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  // The primary asks a joining proxy who it is (daemon?what=snode) before it has a map.
  bool who_am_i = group == "daemon" && req.Query("what").value_or("") == "snode";
  if (!cluster_->ready() && group != "metasync" && !who_am_i) {
    resp.headers.Set("Retry-After", "1");
    return WriteError(req, resp, 503, "starting up: the cluster map is not loaded yet", node_);
  }
  if (group == "health" || group == "daemon") {
    if (req.method != "GET" && req.method != "HEAD")
      return WriteError(req, resp, 405, "method " + req.method + " not allowed", node_);
  }
  if (group == "health") {
    resp.headers.Set("Ais-Node-Uptime", std::to_string(NowNs() - node_.start_ns));
    return;
  }
  if (group == "daemon") return Daemon(req, resp);
  if (group == "reverse") return Reverse(req, resp, tail);
  if (group == "cluster") return Cluster(req, resp, tail);
  if (group == "etl") return etl_.Handle(req, resp, tail);
  if (group == "ml") {
    ml::RouteMoss(node_, *cluster_->smap(), req, resp, tail);
    return AddGrant(user_auth_, user, req, resp);
  }
  if (group == "users" && users_) return users_->Handle(req, resp, tail);
  if (group == "metasync") {
    auto body = req.ReadBody(kMaxControlBody);
    if (!body.ok()) return WriteError(req, resp, body.status(), node_);
    if (cluster_->is_primary())
      return WriteError(req, resp, 409, "the primary does not accept cluster maps", node_);
    Status st = cluster_->ApplyMetasync(*body);
    if (!st.ok()) WriteError(req, resp, st, node_);
    return;
  }
  if (group == "buckets" || group == "objects") {
    if (Status st = CheckBucketQuery(req); !st.ok()) return WriteError(req, resp, st, node_);
  }
  if (group == "buckets") {
    while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
    if (tail.find('/') != std::string_view::npos)
      return WriteError(req, resp, 400,
                        "ais://" + std::string(tail) + ": invalid bucket name (no '/' allowed)",
                        node_);
    return Buckets(req, resp, tail);
  }
  if (group == "objects") {
    size_t s = tail.find('/');
    if (s == std::string_view::npos || s == 0 || s + 1 == tail.size())
      return WriteError(
          req, resp, 400,
          "invalid URL path \"" + req.path + "\": expecting /v1/objects/BUCKET/OBJECT", node_);
    Objects(req, resp, tail.substr(0, s), tail.substr(s + 1));
    AddGrant(user_auth_, user, req, resp);
    return RecordProxyObjectOp(metrics_, req, resp);
  }
  WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node_);
}

void ProxyApi::Daemon(Request& req, Response& resp) {
  std::string what = req.Query("what").value_or("");
  resp.headers.Set("Content-Type", "application/json");
  if (what == "smap") {
    resp.body = cluster::SmapToJson(*cluster_->smap());
  } else if (what == "bmd") {
    resp.body = cluster::BmdToJson(*cluster_->bmd());
  } else if (what == "snode") {
    resp.body = cluster::NodeToJson(cluster_->self());
  } else if (IsNodeQuery(what)) {
    NodeFacts f;
    f.node = &node_;
    f.snode_json = cluster::NodeToJson(cluster_->self());
    f.smap_version = cluster_->smap()->version;
    f.proxy_metrics = metrics_;
    AnswerNodeQuery(what, f, req, resp);
  } else {
    WriteError(req, resp, 400,
               "invalid what=\"" + what +
                   "\" (expecting smap, bmd, snode, node_status, sysinfo, config, "
                   "cluster_config, disk or log)",
               node_);
  }
}

void ProxyApi::Reverse(Request& req, Response& resp, std::string_view tail) {
  // AIStore's /v1/reverse/daemon: the SDK reaches a node's daemon API through the proxy by
  // naming it in Ais-Node-Id; the proxy asks that node and relays its answer.
  if (tail != "daemon")
    return WriteError(req, resp, 404,
                      "invalid URL path \"" + req.path + "\" (expecting /v1/reverse/daemon)",
                      node_);
  if (req.method != "GET")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", node_);
  std::string id = req.headers.Get("Ais-Node-Id");
  if (id.empty())
    return WriteError(req, resp, 400, "missing the Ais-Node-Id header (the node to ask)", node_);
  if (id == node_.id) return Daemon(req, resp);
  auto smap = cluster_->smap();
  const cluster::Node* n = smap->FindNode(id);
  if (!n) return WriteError(req, resp, 404, "node \"" + id + "\" is not in the cluster map", node_);
  size_t q = req.target.find('?');
  HttpRequest out;
  out.url = n->Url() + "/v1/daemon" + (q == std::string::npos ? "" : req.target.substr(q));
  out.headers = {{cluster::kIntraHeader, node_.id}};
  out.max_retries = 1;
  out.total_timeout = std::chrono::milliseconds(15000);
  auto r = cluster_->peers().Do(out);
  if (!r.ok()) return WriteError(req, resp, r.status(), node_);
  resp.status = r->status;
  if (auto ct = r->Header("Content-Type")) resp.headers.Set("Content-Type", *ct);
  resp.body = std::move(r->body);
}

void ProxyApi::Cluster(Request& req, Response& resp, std::string_view tail) {
  auto body = req.ReadBody(kMaxControlBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), node_);
  if (tail == "join" && req.method == "POST") {
    if (!cluster_->is_primary()) return ForwardToPrimary(*cluster_, node_, req, resp, *body);
    auto r = cluster_->Join(*body, req.intra_sender);
    if (!r.ok()) return WriteError(req, resp, r.status(), node_);
    resp.headers.Set("Content-Type", "application/json");
    resp.body = *r;
    return;
  }
  if (tail.substr(0, 10) == "keepalive/" && req.method == "POST") {
    // Any proxy takes a keepalive: one that is not the primary forwards it, so a node whose
    // map names a primary that is gone reaches the new one through any other proxy.
    if (!cluster_->is_primary()) return ForwardToPrimary(*cluster_, node_, req, resp, *body);
    if (req.peer_auth && req.intra_sender != tail.substr(10))
      return WriteError(req, resp, 401, "a keepalive must come from the node it names", node_);
    auto r = cluster_->Keepalive(tail.substr(10), *body);
    if (!r.ok()) return WriteError(req, resp, r.status(), node_);
    if (!r->empty()) resp.headers.Set("Content-Type", "application/json");
    resp.body = *r;
    return;
  }
  if (!tail.empty())
    return WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node_);
  if (req.method == "GET") {
    std::string what = req.Query("what").value_or("");
    if (what == "status" || what == "status_all" || what == "running_all" || what == "qryxstats")
      return FanOutJobs(req, resp, *body);
    if (what == "smap") return Daemon(req, resp);
    if (what == "bmd") return Daemon(req, resp);
    return WriteError(req, resp, 400, "invalid what=\"" + what + "\" (expecting smap or bmd)",
                      node_);
  }
  if (req.method != "PUT")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed", node_);
  if (!cluster_->is_primary()) return ForwardToPrimary(*cluster_, node_, req, resp, *body);
  auto msg = ParseActionMsg(*body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), node_);
  if (msg->action == "stop") return FanOutJobs(req, resp, *body);  // jobs run on the targets
  if (msg->action == "start") return StartJobs(req, resp, *body);
  // Membership changes: nodes and holders of the cluster secret only (docs/SECURITY.md).
  if (RefuseUnlessPeer(req, resp, node_)) return;
  std::string sid;
  if (const json* s = FindKey(*msg->value, "sid"); s && s->is_string()) sid = s->get<std::string>();
  Status st;
  if (msg->action == "start-maintenance") {
    st = cluster_->SetNodeState(sid, cluster::NodeState::kMaintenance);
  } else if (msg->action == "stop-maintenance") {
    st = cluster_->SetNodeState(sid, cluster::NodeState::kOnline);
  } else if (msg->action == "decommission-node" || msg->action == "remove-node") {
    st = Decommission(sid);
  } else {
    st = Status::InvalidArgument(
        "invalid action \"" + msg->action +
        "\" (expecting start-maintenance, stop-maintenance, decommission-node)");
  }
  if (!st.ok()) WriteError(req, resp, st, node_);
}

void ProxyApi::StartJobs(Request& req, Response& resp, const std::string& body) {
  // A job every target runs on its own disks (scrub): one id for all of them, then fan out.
  auto msg = ParseActionMsg(body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), node_);
  const json& value = *msg->value;
  std::string kind = value.is_object() ? value.value("kind", value.value("Kind", "")) : "";
  if (kind != "scrub")
    return WriteError(req, resp, 400,
                      "start: kind \"" + kind + "\" cannot be started this way (expecting scrub)",
                      node_);
  json v = value;
  const json* bck = FindKey(v, "bck");
  if (!bck) bck = FindKey(v, "Bck");
  if (bck && bck->is_object()) {
    std::string b = bck->value("name", "");
    if (!b.empty() && !cluster_->bmd()->buckets.count(b))
      return WriteError(req, resp,
                        Status::NotFound("bucket \"ais://" + b + "\" does not exist")
                            .WithSubject(Subject::kBucket),
                        node_);
  }
  std::string id = "scrub-" + storage::RandomHex(8);
  v["id"] = id;
  FanOutJobs(req, resp, json{{"action", "start"}, {"value", v}}.dump());
  if (resp.status != 200) return;
  resp.headers.Set("Content-Type", "text/plain");
  resp.body = id;
}

void ProxyApi::FanOutJobs(Request& req, Response& resp, const std::string& body) {
  // Jobs live on the targets: ask every online target, then merge as one cluster's answer.
  std::string what = req.Query("what").value_or("");
  auto answers = cluster::AskTargets(*cluster_, node_.id, req.method, req.target, body,
                                     std::chrono::milliseconds(15000));
  json merged = what == "qryxstats" ? json::object() : json::array();
  bool found = false;
  std::string last_error = "no target is online";
  for (auto& [tid, r] : answers) {
    if (!r.ok()) {
      last_error = r.status().message();
      continue;
    }
    if (r->status != 200) {
      last_error = cluster::RemoteErrorMessage(*r);
      continue;
    }
    found = true;
    if (req.method == "PUT") continue;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) continue;
    if (what == "status") {  // one job, maybe running on several targets: merge
      merged = merged.is_array() ? j : MergeJobStatus(std::move(merged), j);
      continue;
    }
    if (what == "qryxstats" && j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) merged[it.key()] = it.value();
    } else if (j.is_array()) {
      for (auto& e : j) merged.push_back(std::move(e));
    }
  }
  if (!found && (req.method == "PUT" || what == "status"))
    return WriteError(req, resp, 404, last_error, node_);
  if (what == "status" && merged.is_array())
    return WriteError(req, resp, 404, "job not found", node_);
  if (req.method == "PUT") return;
  resp.headers.Set("Content-Type", "application/json");
  resp.body = merged.dump();
}

Status ProxyApi::Decommission(const std::string& node_id) {
  auto smap = cluster_->smap();
  const cluster::Node* n = smap->FindNode(node_id);
  if (!n) return Status::NotFound("node \"" + node_id + "\" is not in the cluster map");
  std::string url = n->Url();
  if (n->role == "target") {
    AISLE_RETURN_IF_ERROR(cluster_->SetNodeState(node_id, cluster::NodeState::kMaintenance));
    int64_t version = cluster_->smap()->version;
    // Wait until the target's rebalance for this map version (or later) has finished.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
    for (;;) {
      HttpRequest q;
      q.url = url + "/v1/daemon?what=rebalance";
      q.max_retries = 1;
      auto r = cluster_->peers().Do(q);
      if (r.ok() && r->status == 200) {
        json j = json::parse(r->body, nullptr, false);
        if (!j.is_discarded() && j.value("smap_version", int64_t{0}) >= version &&
            !j.value("running", true) && j.value("errors", 1) == 0 && !j.value("aborted", true))
          break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        return Status::Timeout("target " + node_id + " did not finish draining");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // Stop the node first (so it cannot rejoin), wait until it is gone, then drop it from the map.
  HttpRequest stop;
  stop.method = "PUT";
  stop.url = url + "/v1/daemon";
  stop.headers = {{"Content-Type", "application/json"}, {cluster::kIntraHeader, node_.id}};
  stop.body = R"({"action":"shutdown"})";
  stop.max_retries = 0;
  (void)cluster_->peers().Do(stop);
  auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < gone_by) {
    HttpRequest ping;
    ping.url = url + "/v1/health";
    ping.max_retries = 0;
    ping.total_timeout = std::chrono::milliseconds(1000);
    if (!cluster_->peers().Do(ping).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  AISLE_RETURN_IF_ERROR(cluster_->RemoveNode(node_id));
  spdlog::info("node {} decommissioned", node_id);
  return Status::OK();
}

void ProxyApi::Buckets(Request& req, Response& resp, std::string_view bucket) {
  if (!bucket.empty()) {
    if (Status st = CheckBucketName(bucket); !st.ok()) return WriteError(req, resp, st, node_);
  }
  auto bmd = cluster_->bmd();
  auto find = [&]() -> const cluster::BucketProps* {
    auto it = bmd->buckets.find(std::string(bucket));
    return it == bmd->buckets.end() ? nullptr : &it->second;
  };
  Status missing = Status::NotFound("bucket \"ais://" + std::string(bucket) + "\" does not exist")
                       .WithSubject(Subject::kBucket);
  if (req.method == "HEAD") {
    const auto* p = find();
    if (!p) return WriteError(req, resp, missing, node_);
    resp.headers.Set("Ais-Bucket-Props", BucketPropsJson(*p).dump());
    return;
  }
  auto body = req.ReadBody(kMaxControlBody);
  if (!body.ok()) return WriteError(req, resp, body.status(), node_);
  auto msg = ParseActionMsg(*body);
  if (!msg.ok()) return WriteError(req, resp, msg.status(), node_);

  if (req.method == "GET") {
    bool list_buckets =
        bucket.empty() || (msg->present && msg->value->is_null() && msg->action == "list");
    if (list_buckets) {
      json arr = json::array();
      std::string only = bucket.empty() ? msg->name : std::string(bucket);
      for (const auto& [name, p] : bmd->buckets) {
        if (only.empty() || only == name)
          arr.push_back(
              {{"name", name}, {"provider", "ais"}, {"namespace", {{"uuid", ""}, {"name", ""}}}});
      }
      resp.headers.Set("Content-Type", "application/json");
      resp.body = arr.dump();
      return;
    }
    if (!find()) return WriteError(req, resp, missing, node_);
    if (msg->present && !msg->action.empty() && msg->action != "list")
      return WriteError(req, resp, 400, "invalid action \"" + msg->action + "\" for GET", node_);
    return ListObjects(req, resp, bucket, msg->value->is_object() ? msg->value->dump() : "{}");
  }
  if (bucket.empty()) return WriteError(req, resp, 400, "bucket name is empty", node_);
  if (!cluster_->is_primary()) return ForwardToPrimary(*cluster_, node_, req, resp, *body);
  if (IsListRangeAction(msg->action))
    return ForwardListRange(*cluster_, node_, req, resp, bucket, *msg, *body);
  if (req.method == "POST" && (msg->action == "etl-bck" || msg->action == "copy-bck"))
    return etl_.StartBucketJob(req, resp, bucket, *body);
  if (req.method == "PUT" && msg->action == "archive")
    return ForwardArchiveJob(*cluster_, node_, req, resp, bucket, *body);
  Status st;
  if (req.method == "POST" && msg->action == "create-bck") {
    cluster::BucketProps props;
    props.copies = CopiesFrom(*msg->value, 1);
    if (props.copies < 1 || props.copies > 16)
      return WriteError(req, resp, 400, "copies must be 1..16", node_);
    if (Status cs = ChecksumFrom(*msg->value, &props); !cs.ok())
      return WriteError(req, resp, cs, node_);
    st = cluster_->CreateBucket(bucket, props);
  } else if (req.method == "DELETE" && (msg->action.empty() || msg->action == "destroy-bck")) {
    st = cluster_->DestroyBucket(bucket);
  } else if ((req.method == "PATCH" || req.method == "PUT") && msg->action == "set-bprops") {
    const auto* p = find();
    if (!p) return WriteError(req, resp, missing, node_);
    cluster::BucketProps next = *p;
    next.copies = CopiesFrom(*msg->value, p->copies);
    if (Status cs = ChecksumFrom(*msg->value, &next); !cs.ok())
      return WriteError(req, resp, cs, node_);
    st = cluster_->SetBucketProps(bucket, next);
  } else {
    st = Status::InvalidArgument("invalid action \"" + msg->action + "\" for " + req.method +
                                 " (expecting create-bck, destroy-bck or set-bprops)");
  }
  if (!st.ok()) WriteError(req, resp, st, node_);
}

void ProxyApi::ListObjects(Request& req, Response& resp, std::string_view bucket,
                           const std::string& lso_text) {
  json lso = json::parse(lso_text, nullptr, false);
  if (lso.is_discarded()) lso = json::object();
  uint64_t page = JsonUint(FindKey(lso, "pagesize"));
  size_t page_size = page == 0 || page > kMaxPageSize ? kMaxPageSize : page;
  std::string token, start_after, uuid;
  if (const json* t = FindKey(lso, "continuation_token"); t && t->is_string())
    token = t->get<std::string>();
  if (const json* s = FindKey(lso, "start_after"); s && s->is_string())
    start_after = s->get<std::string>();
  if (const json* u = FindKey(lso, "uuid"); u && u->is_string()) uuid = u->get<std::string>();
  if (uuid.empty()) uuid = "l" + storage::RandomHex(11);
  auto merged = cluster_->ListObjects(bucket, lso_text, page_size, std::max(token, start_after));
  if (!merged.ok()) return WriteError(req, resp, merged.status(), node_);
  if (metrics_) metrics_->lst.Add();
  bool msgpack = req.headers.Get("Accept").find("application/msgpack") != std::string::npos;
  if (msgpack) {
    json entries = json::array();
    for (const auto& e : merged->entries) entries.push_back(EntryToMsgpackMap(json::parse(e.json)));
    json out = {{"UUID", uuid},
                {"ContinuationToken", merged->next_token},
                {"Entries", entries},
                {"Flags", 0}};
    std::vector<uint8_t> bytes = json::to_msgpack(out);
    resp.headers.Set("Content-Type", "application/msgpack");
    resp.body.assign(bytes.begin(), bytes.end());
    return;
  }
  std::string out = "{\"uuid\":" + json(uuid).dump() +
                    ",\"continuation_token\":" + json(merged->next_token).dump() + ",\"entries\":[";
  for (size_t i = 0; i < merged->entries.size(); ++i) {
    if (i) out += ',';
    out += merged->entries[i].json;
  }
  out += "],\"flags\":0}";
  resp.headers.Set("Content-Type", "application/json");
  resp.body = std::move(out);
}

void ProxyApi::Objects(Request& req, Response& resp, std::string_view bucket,
                       std::string_view object) {
  if (Status st = CheckBucketName(bucket); !st.ok()) return WriteError(req, resp, st, node_);
  if (Status st = CheckObjectName(bucket, object); !st.ok())
    return WriteError(req, resp, st, node_);
  auto bmd = cluster_->bmd();
  if (!bmd->buckets.count(std::string(bucket)))
    return WriteError(req, resp, 404, "bucket \"ais://" + std::string(bucket) + "\" does not exist",
                      node_);
  auto smap = cluster_->smap();
  const cluster::Node* owner = smap->Owner(bucket, object);
  if (!owner) return WriteError(req, resp, 503, "no target is online", node_);
  // The body is not read: the client re-sends it to the target.
  resp.status = req.method == "GET" ? 301 : 307;
  resp.headers.Set("Location", RedirectUrl(owner->Url(), req.target, node_.id));
}

}  // namespace aisle::api
