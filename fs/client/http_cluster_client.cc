#include "fs/client/http_cluster_client.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "common/logging.h"
#include "common/net/http_errors.h"

#define AISLE_LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define AISLE_LOG_WARN(...) spdlog::warn(__VA_ARGS__)

namespace aisle::fs {
namespace {

bool Retryable(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kTimeout;
}

uint64_t ParseU64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>()));
  if (v.is_string()) {
    try {
      return std::stoull(v.get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

Status StatusFromHttp(int http_status, const std::string& body, const std::string& what) {
  std::string msg = what + ": HTTP " + std::to_string(http_status);
  if (std::string m = AisErrorMessage(body); !m.empty()) msg += ": " + m;
  return Status(StatusCodeForHttp(http_status), std::move(msg));
}

HttpClusterClient::HttpClusterClient(HttpClusterOptions opts)
    : opts_(std::move(opts)),
      proxies_(opts_.endpoints),
      raw_(opts_.connect_timeout,
           std::chrono::duration_cast<std::chrono::milliseconds>(opts_.stall_timeout)),
      local_(opts_.connect_timeout) {
  if (!opts_.token.empty()) raw_.SetAuthorization("Bearer " + opts_.token);
  http_.SetTls(opts_.tls);
}

HttpRequest HttpClusterClient::BaseRequest(std::string method, std::string url,
                                           bool metadata) const {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.connect_timeout = opts_.connect_timeout;
  r.low_speed_time = opts_.stall_timeout;
  r.low_speed_bytes = 1;
  if (metadata) r.total_timeout = opts_.metadata_timeout;
  r.max_retries = 1;  // our own loop below retries with a longer budget
  if (!opts_.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + opts_.token);
  return r;
}

Result<HttpResponse> HttpClusterClient::DoCounted(const HttpRequest& req) {
  auto r = http_.Do(req);
  // 416: a read at or past the end, an answer like any other.
  if (opts_.metrics) opts_.metrics->Http(r.ok() && (r->status / 100 == 2 || r->status == 416));
  return r;
}

Result<HttpResponse> HttpClusterClient::Send(const HttpRequest& req) {
  std::string base;
  if (!proxies_.IsProxyUrl(req.url, &base)) return DoCounted(req);
  const std::string rest = req.url.substr(base.size());
  const bool resendable = !req.on_body && !std::holds_alternative<BodyReader*>(req.body);
  const size_t known = proxies_.size();
  Result<HttpResponse> r = DoCounted(req);
  for (size_t tried = 1;; ++tried) {
    bool down = r.ok() ? r->status == 503 : Retryable(r.status());
    if (!down || known < 2) return r;
    std::string next = proxies_.Failed(base);
    if (!resendable || tried >= known || next == base) return r;
    AISLE_LOG_INFO("aisle-fs: proxy {} {}; failing over to {}", base,
                   r.ok() ? std::string("answered 503") : r.status().message(), next);
    HttpRequest again = req;
    again.url = next + rest;
    base = std::move(next);
    r = DoCounted(again);
  }
}

template <typename T, typename F>
Result<T> HttpClusterClient::WithRetries(const char* what, F&& attempt) {
  auto deadline = std::chrono::steady_clock::now() + opts_.retry_budget;
  std::chrono::milliseconds backoff{50};
  for (int n = 0;; ++n) {
    Result<T> r = attempt(n);
    if (r.ok() || !Retryable(r.status())) return r;
    if (std::chrono::steady_clock::now() + backoff > deadline) {
      AISLE_LOG_WARN("aisle-fs: {}: giving up after {} attempts: {}", what, n + 1,
                     r.status().ToString());
      return r;
    }
    if (n == 0) AISLE_LOG_INFO("aisle-fs: {}: {}; retrying", what, r.status().ToString());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

Status HttpClusterClient::RefreshClusterMap() {
  auto r = Send(BaseRequest("GET", proxies_.Current() + "/v1/daemon?what=smap", true));
  if (!r.ok()) return r.status();
  if (r->status != 200) return StatusFromHttp(r->status, r->body, "get smap");
  auto m = ClusterMap::Parse(r->body);
  if (!m.ok()) return m.status();
  proxies_.Learn(m->proxies());
  std::lock_guard lk(map_mu_);
  map_ = std::move(*m);
  return Status::OK();
}

Result<std::unique_ptr<LocalObject>> HttpClusterClient::OpenLocal(const std::string& bucket,
                                                                  const std::string& object) {
  ClusterMap::Target owner;
  {
    std::lock_guard lk(map_mu_);
    owner = map_.OwnerOf(bucket, object);
  }
  if (owner.id.empty()) return Status::Unsupported("no cluster map");
  return local_.Open({owner.id, owner.url}, bucket, object);
}

std::string HttpClusterClient::BaseFor(const std::string& bucket, const std::string& object,
                                       bool fallback) const {
  if (fallback) return proxies_.Current();  // the owner failed once: go through the endpoint
  std::lock_guard lk(map_mu_);
  std::string owner = map_.OwnerUrl(bucket, object);
  return owner.empty() ? proxies_.Current() : owner;
}

Result<std::vector<std::string>> HttpClusterClient::ListNames(const std::string& path,
                                                              const char* field,
                                                              const std::string& what) {
  return WithRetries<std::vector<std::string>>(
      what.c_str(), [&](int) -> Result<std::vector<std::string>> {
        auto r = Send(BaseRequest("GET", proxies_.Current() + path, true));
        if (!r.ok()) return r.status();
        if (r->status != 200) return StatusFromHttp(r->status, r->body, what);
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        if (j.is_discarded() || !j.is_array()) return Status::IOError(what + ": bad JSON");
        std::vector<std::string> out;
        for (const auto& e : j) {
          if (e.is_object() && e.contains(field) && e[field].is_string()) out.push_back(e[field]);
        }
        return out;
      });
}

Result<std::vector<std::string>> HttpClusterClient::ListBuckets() {
  return ListNames("/v1/buckets", "name", "list buckets");
}

Result<std::vector<std::string>> HttpClusterClient::ListEtls() {
  return ListNames("/v1/etl", "id", "list transforms");
}

Status HttpClusterClient::CreateBucket(const std::string& bucket) {
  auto req =
      BaseRequest("POST", proxies_.Current() + "/v1/buckets/" + EscapeComponent(bucket), true);
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::string(R"({"action":"create-bck"})");
  auto r = Send(req);
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) {
    if (r->status == 409) return Status::AlreadyExists("create bucket " + bucket);
    return StatusFromHttp(r->status, r->body, "create bucket " + bucket);
  }
  return Status::OK();
}

Result<ListPage> HttpClusterClient::List(const ListRequest& lr) {
  std::string what = "list " + lr.bucket + "/" + lr.prefix;
  return WithRetries<ListPage>(what.c_str(), [&](int attempt_no) -> Result<ListPage> {
    auto req =
        BaseRequest("GET", proxies_.Current() + "/v1/buckets/" + EscapeComponent(lr.bucket), true);
    nlohmann::json value = {
        {"prefix", lr.prefix}, {"pagesize", lr.page_size}, {"props", "size,atime,version"}};
    if (!lr.token.empty()) value["continuation_token"] = lr.token;
    if (!lr.start_after.empty()) value["start_after"] = lr.start_after;
    if (lr.archive) value["flags"] = "8";
    nlohmann::json msg = {{"action", "list"}, {"value", value}};
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // msgpack is smaller and parses faster than JSON; AIStore nodes answer either.
    req.headers.emplace_back("Accept", "application/msgpack");
    auto r = Send(req);
    if (!r.ok()) return r.status();
    if (r->status != 200) return StatusFromHttp(r->status, r->body, what);
    auto ct = r->Header("Content-Type");
    bool mp = ct && ct->find("msgpack") != std::string::npos;
    nlohmann::json j = mp ? nlohmann::json::from_msgpack(r->body, true, false)
                          : nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::IOError(what + ": bad list body");
    const char* k_token = mp ? "ContinuationToken" : "continuation_token";
    const char* k_entries = mp ? "Entries" : "entries";
    const char* k_name = mp ? "n" : "name";
    const char* k_size = mp ? "s" : "size";
    const char* k_atime = mp ? "a" : "atime";
    const char* k_version = mp ? "v" : "version";
    ListPage page;
    if (auto t = j.find(k_token); t != j.end() && t->is_string()) page.next_token = *t;
    if (auto es = j.find(k_entries); es != j.end() && es->is_array()) {
      page.entries.reserve(es->size());
      std::string last_atime;  // consecutive entries often share a timestamp string
      int64_t last_ns = 0;
      for (auto& e : *es) {
        if (!e.is_object()) continue;
        ObjectEntry oe;
        if (auto n = e.find(k_name); n != e.end() && n->is_string())
          oe.name = std::move(n->get_ref<std::string&>());
        if (auto sz = e.find(k_size); sz != e.end()) oe.size = ParseU64(*sz);
        if (auto a = e.find(k_atime); a != e.end() && a->is_string()) {
          const auto& as = a->get_ref<const std::string&>();
          if (as != last_atime) {
            last_atime = as;
            last_ns = std::max<int64_t>(0, ParseHttpDate(as)) * 1000000000;
          }
          oe.mtime_ns = last_ns;
        }
        if (auto v = e.find(k_version); v != e.end() && v->is_string()) oe.version = *v;
        page.entries.push_back(std::move(oe));
      }
    }
    return page;
  });
}

Result<ObjectHead> HttpClusterClient::Head(const std::string& bucket, const std::string& object) {
  std::string what = "head " + bucket + "/" + object;
  return WithRetries<ObjectHead>(what.c_str(), [&](int attempt_no) -> Result<ObjectHead> {
    auto url = ObjectUrl(bucket, object, attempt_no > 0);
    auto r = Send(BaseRequest("HEAD", url, true));
    if (!r.ok()) return r.status();
    if (r->status != 200) return StatusFromHttp(r->status, "", what);
    ObjectHead h;
    if (auto v = r->Header("Content-Length")) h.size = std::strtoull(v->c_str(), nullptr, 10);
    if (auto v = r->Header("Ais-Version")) h.version = *v;
    if (auto v = r->Header("Ais-Atime")) h.mtime_ns = std::strtoll(v->c_str(), nullptr, 10);
    return h;
  });
}

Result<uint64_t> HttpClusterClient::GetRange(const ObjectRef& ref, uint64_t offset, uint64_t length,
                                             const DataSink& sink) {
  std::string what = Describe(ref);
  uint64_t delivered = 0;
  auto res = WithRetries<uint64_t>(what.c_str(), [&](int attempt_no) -> Result<uint64_t> {
    if (length == delivered) return delivered;
    uint64_t off = offset + delivered, want = length - delivered;
    std::string url = BaseFor(ref.bucket, ref.object, attempt_no > 0) + ObjectTarget(ref);
    auto req = BaseRequest("GET", url, false);
    // Transforms produce new bytes and may not honour Range: take the whole body and skip.
    bool skip_mode = !ref.etl_name.empty();
    if (!skip_mode) {
      req.headers.emplace_back(
          "Range", "bytes=" + std::to_string(off) + "-" + std::to_string(off + want - 1));
    }
    uint64_t seen = 0;
    bool range_done = false;  // the body callback stopped the transfer: the range is complete
    req.on_body = [&](std::string_view chunk) -> Status {
      if (skip_mode && seen < off) {
        uint64_t k = std::min<uint64_t>(off - seen, chunk.size());
        seen += k;
        chunk.remove_prefix(k);
      }
      if (chunk.empty()) return Status::OK();
      uint64_t left = length - delivered;
      // Bytes beyond the range (a server ignoring Range, a transform's whole output): stop
      // the transfer. Never when the range just ended: an aborted transfer costs curl the
      // keep-alive connection, and a reconnect per range GET.
      if (left == 0) {
        range_done = true;
        return Status::Internal("range complete: transfer stopped");
      }
      if (chunk.size() > left) chunk = chunk.substr(0, left);
      AISLE_RETURN_IF_ERROR(sink(chunk));
      delivered += chunk.size();
      return Status::OK();
    };
    auto resp = Send(req);
    if (!resp.ok()) {
      if (range_done) return delivered;
      return resp.status();
    }
    if (resp->status == 416) return delivered;  // at or past the end
    if (resp->status / 100 != 2) {
      Status st = StatusFromHttp(resp->status, resp->body, what);
      if (!ref.etl_name.empty() && !st.IsNotFound()) {
        // A failing transform (crash, timeout, bad input): readers get EIO; the FUSE layer
        // logs the reason once.
        return Status::IOError(st.message());
      }
      return st;
    }
    return delivered;
  });
  return res;
}

std::string HttpClusterClient::ObjectPath(const std::string& bucket, const std::string& object) {
  return "/v1/objects/" + EscapeComponent(bucket) + "/" + EscapePath(object);
}

std::string HttpClusterClient::ObjectUrl(const std::string& bucket, const std::string& object,
                                         bool fallback) const {
  return BaseFor(bucket, object, fallback) + ObjectPath(bucket, object);
}

std::string HttpClusterClient::Describe(const ObjectRef& ref) {
  std::string what = "get " + ref.bucket + "/" + ref.object;
  if (!ref.archpath.empty()) what += "[" + ref.archpath + "]";
  if (!ref.etl_name.empty()) what += " via etl " + ref.etl_name;
  return what;
}

std::string HttpClusterClient::ObjectTarget(const ObjectRef& ref) {
  std::string t = ObjectPath(ref.bucket, ref.object);
  std::string q;
  if (!ref.archpath.empty()) q += "archpath=" + EscapeComponent(ref.archpath);
  if (!ref.etl_name.empty())
    q += (q.empty() ? "" : "&") + std::string("etl_name=") + EscapeComponent(ref.etl_name);
  if (!q.empty()) t += "?" + q;
  return t;
}

Result<std::unique_ptr<RawBodyStream>> HttpClusterClient::OpenRawRange(
    const ObjectRef& ref, const std::string& what, uint64_t offset, uint64_t length, int attempt_no,
    bool* general) {
  std::string hp = RawRangeGetter::HostPortOf(BaseFor(ref.bucket, ref.object, attempt_no > 0));
  if (hp.empty()) {
    *general = true;
    return Status::Unsupported("not a plain http:// node");
  }
  auto r = raw_.Open(hp, ObjectTarget(ref), offset, length);
  if (opts_.metrics) opts_.metrics->Http(r.ok() && (r->status / 100 == 2 || r->status == 416));
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kUnsupported) *general = true;
    return r.status();
  }
  if (r->status == 416) return std::unique_ptr<RawBodyStream>();  // at or past the end
  if (r->status / 100 != 2) return StatusFromHttp(r->status, r->error_body, what);
  return std::move(r->body);
}

Result<uint64_t> HttpClusterClient::ReadRange(const ObjectRef& ref, uint64_t offset,
                                              uint64_t length, char* dest) {
  if (!ref.etl_name.empty()) return ClusterClient::ReadRange(ref, offset, length, dest);
  if (length == 0) return uint64_t{0};
  std::string what = Describe(ref);
  bool general = false;
  auto res = WithRetries<uint64_t>(what.c_str(), [&](int attempt_no) -> Result<uint64_t> {
    AISLE_ASSIGN_OR_RETURN(auto body,
                           OpenRawRange(ref, what, offset, length, attempt_no, &general));
    if (!body) return uint64_t{0};
    return body->Read(dest, length);  // read whole, the stream gives the connection back
  });
  if (!res.ok() && general) return ClusterClient::ReadRange(ref, offset, length, dest);
  return res;
}

namespace {

class RawRangeStream : public RangeStream {
 public:
  explicit RawRangeStream(std::unique_ptr<RawBodyStream> body) : body_(std::move(body)) {}
  Result<uint64_t> Read(char* dest, uint64_t n) override {
    if (!body_) return uint64_t{0};
    return body_->Read(dest, n);
  }
  Result<uint64_t> SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full) override {
    *pipe_full = false;
    if (!body_) return uint64_t{0};
    return body_->SpliceTo(pipe_wr, n, pipe_full);
  }

 private:
  std::unique_ptr<RawBodyStream> body_;  // null: the range lies past the end
};

}  // namespace

Result<std::unique_ptr<RangeStream>> HttpClusterClient::OpenRange(const ObjectRef& ref,
                                                                  uint64_t offset,
                                                                  uint64_t length) {
  if (!ref.etl_name.empty() || length == 0)
    return Status::Unsupported("no stream for " + Describe(ref));
  std::string what = Describe(ref);
  bool general = false;
  using Stream = std::unique_ptr<RangeStream>;
  auto res = WithRetries<Stream>(what.c_str(), [&](int attempt_no) -> Result<Stream> {
    AISLE_ASSIGN_OR_RETURN(auto body,
                           OpenRawRange(ref, what, offset, length, attempt_no, &general));
    return Stream(new RawRangeStream(std::move(body)));
  });
  if (!res.ok() && general) return Status::Unsupported("no stream for " + what);
  return res;
}

Result<ObjectHead> HttpClusterClient::SendPut(HttpRequest req, const PutBody& body,
                                              const std::string& what) {
  if (body.reader != nullptr) {
    req.body = body.reader;
  } else if (!body.file_path.empty()) {
    req.body = FileBody{body.file_path};
  } else {
    req.body = std::string(body.data);
  }
  auto r = Send(req);
  if (!r.ok()) return r.status().WithContext(what);
  if (r->status / 100 != 2) return StatusFromHttp(r->status, r->body, what);
  ObjectHead h;
  if (auto v = r->Header("Ais-Version")) h.version = *v;
  if (auto v = r->Header("Ais-Atime")) h.mtime_ns = std::strtoll(v->c_str(), nullptr, 10);
  return h;
}

std::string HttpClusterClient::OwnerOf(const std::string& bucket, const std::string& object) {
  std::lock_guard lk(map_mu_);
  return map_.OwnerOf(bucket, object).id;
}

Status HttpClusterClient::GetBatch(const std::string& bucket, const std::vector<BatchItem>& items,
                                   const DataSink& sink) {
  if (items.empty()) return Status::OK();
  nlohmann::json in = nlohmann::json::array();
  for (const auto& it : items) {
    nlohmann::json e = {{"objname", it.object}};
    if (!it.archpath.empty()) e["archpath"] = it.archpath;
    in.push_back(std::move(e));
  }
  nlohmann::json msg = {
      {"in", std::move(in)}, {"mime", ".tar"}, {"coer", true}, {"onob", true}, {"strm", true}};
  std::string body = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string what = "get-batch " + bucket + " (" + std::to_string(items.size()) + " entries)";
  Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The owner assembles its own entries without node-to-node fetches; on a failure before
    // any byte arrived, the endpoint (a proxy routes it) gets one more try.
    auto req = BaseRequest(
        "GET",
        BaseFor(bucket, items[0].object, attempt > 0) + "/v1/ml/moss/" + EscapeComponent(bucket),
        false);
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    bool got_bytes = false;
    req.on_body = [&](std::string_view chunk) -> Status {
      got_bytes = true;
      return sink(chunk);
    };
    auto r = Send(req);
    if (r.ok() && r->status / 100 == 2) return Status::OK();
    last = r.ok() ? StatusFromHttp(r->status, r->body, what) : r.status();
    if (got_bytes || (r.ok() && r->status / 100 == 4)) break;
  }
  return last;
}

Result<ObjectHead> HttpClusterClient::Put(const std::string& bucket, const std::string& object,
                                          const PutBody& body) {
  std::string what = "put " + bucket + "/" + object;
  auto attempt = [&](int attempt_no) -> Result<ObjectHead> {
    return SendPut(BaseRequest("PUT", ObjectUrl(bucket, object, attempt_no > 0), false), body,
                   what);
  };
  // A one-shot stream cannot be re-sent; files and memory can.
  if (body.reader != nullptr) return attempt(0);
  return WithRetries<ObjectHead>(what.c_str(), attempt);
}

Result<ObjectHead> HttpClusterClient::AppendMember(const std::string& bucket,
                                                   const std::string& shard,
                                                   const std::string& member, const PutBody& body) {
  std::string what = "append " + bucket + "/" + shard + "[" + member + "]";
  auto attempt = [&](int attempt_no) -> Result<ObjectHead> {
    return SendPut(BaseRequest("PUT",
                               ObjectUrl(bucket, shard, attempt_no > 0) +
                                   "?archpath=" + EscapeComponent(member),
                               false),
                   body, what);
  };
  return attempt(0);  // not idempotent: an append is never repeated blindly
}

Status HttpClusterClient::Delete(const std::string& bucket, const std::string& object) {
  std::string what = "delete " + bucket + "/" + object;
  auto r = WithRetries<int>(what.c_str(), [&](int attempt_no) -> Result<int> {
    auto resp = Send(BaseRequest("DELETE", ObjectUrl(bucket, object, attempt_no > 0), true));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return StatusFromHttp(resp->status, resp->body, what);
    return 0;
  });
  return r.status();
}

Status HttpClusterClient::Rename(const std::string& bucket, const std::string& from,
                                 const std::string& to) {
  std::string what = "rename " + bucket + "/" + from + " -> " + to;
  auto r = WithRetries<int>(what.c_str(), [&](int attempt_no) -> Result<int> {
    auto req = BaseRequest("POST", ObjectUrl(bucket, from, attempt_no > 0), true);
    req.headers.emplace_back("Content-Type", "application/json");
    nlohmann::json msg = {{"action", "rename-obj"}, {"name", to}};
    req.body = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto resp = Send(req);
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return StatusFromHttp(resp->status, resp->body, what);
    return 0;
  });
  return r.status();
}

}  // namespace aisle::fs
