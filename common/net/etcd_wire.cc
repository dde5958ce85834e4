#include "common/net/etcd_wire.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace aisle::etcd {
namespace {

using nlohmann::json;

std::string B64(std::string_view s) { return Base64Encode(s); }

// The gateway writes int64 as a string; a number is accepted too.
int64_t Int(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

Result<json> Parse(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Unavailable("etcd: malformed reply: " + std::string(body.substr(0, 200)));
  if (auto e = DecodeError(body)) return Status::Unavailable("etcd: " + *e);
  return j;
}

Result<KeyValue> KvOf(const json& j) {
  KeyValue kv;
  if (!Base64Decode(j.value("key", ""), &kv.key) || !Base64Decode(j.value("value", ""), &kv.value))
    return Status::Unavailable("etcd: malformed key/value in reply");
  kv.create_revision = Int(j, "create_revision");
  kv.mod_revision = Int(j, "mod_revision");
  kv.version = Int(j, "version");
  kv.lease = Int(j, "lease");
  return kv;
}

Status AppendKvs(const json& j, std::vector<KeyValue>* out) {
  auto it = j.find("kvs");
  if (it == j.end() || !it->is_array()) return Status::OK();
  for (const auto& e : *it) {
    AISLE_ASSIGN_OR_RETURN(KeyValue kv, KvOf(e));
    out->push_back(std::move(kv));
  }
  return Status::OK();
}

json RangeJson(std::string_view key, std::string_view range_end) {
  json j = {{"key", B64(key)}};
  if (!range_end.empty()) j["range_end"] = B64(range_end);
  return j;
}

json PutJson(std::string_view key, std::string_view value, int64_t lease) {
  json j = {{"key", B64(key)}, {"value", B64(value)}};
  if (lease) j["lease"] = std::to_string(lease);
  return j;
}

json OpJson(const Op& op) {
  switch (op.kind) {
    case Op::kPut: return {{"request_put", PutJson(op.key, op.value, op.lease)}};
    case Op::kRange: return {{"request_range", RangeJson(op.key, op.range_end)}};
    case Op::kDelete: return {{"request_delete_range", RangeJson(op.key, op.range_end)}};
  }
  return json::object();
}

json CompareJson(const Compare& c) {
  json j = {{"key", B64(c.key)}, {"target", c.target}, {"result", c.result}};
  if (c.target == "VALUE") {
    j["value"] = B64(c.value);
  } else {
    const char* field = c.target == "MOD"       ? "mod_revision"
                        : c.target == "CREATE"  ? "create_revision"
                        : c.target == "VERSION" ? "version"
                                                : "lease";
    j[field] = std::to_string(c.number);
  }
  return j;
}

}  // namespace

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::string EncodeRange(std::string_view key, std::string_view range_end) {
  return RangeJson(key, range_end).dump();
}

std::string EncodePut(std::string_view key, std::string_view value, int64_t lease) {
  return PutJson(key, value, lease).dump();
}

std::string EncodeDelete(std::string_view key, std::string_view range_end) {
  return RangeJson(key, range_end).dump();
}

std::string EncodeTxn(const std::vector<Compare>& cmp, const std::vector<Op>& success,
                      const std::vector<Op>& failure) {
  json j = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : cmp) j["compare"].push_back(CompareJson(c));
  for (const auto& o : success) j["success"].push_back(OpJson(o));
  for (const auto& o : failure) j["failure"].push_back(OpJson(o));
  return j.dump();
}

std::string EncodeLeaseGrant(int64_t ttl_s) { return json{{"TTL", ttl_s}}.dump(); }
std::string EncodeLeaseId(int64_t id) { return json{{"ID", std::to_string(id)}}.dump(); }

Result<RangeResult> DecodeRange(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(json j, Parse(body));
  RangeResult r;
  if (j.contains("header")) r.revision = Int(j["header"], "revision");
  AISLE_RETURN_IF_ERROR(AppendKvs(j, &r.kvs));
  return r;
}

Result<TxnResult> DecodeTxn(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(json j, Parse(body));
  TxnResult r;
  r.succeeded = j.value("succeeded", false);
  if (j.contains("header")) r.revision = Int(j["header"], "revision");
  if (auto it = j.find("responses"); it != j.end() && it->is_array()) {
    for (const auto& resp : *it) {
      if (auto rr = resp.find("response_range"); rr != resp.end())
        AISLE_RETURN_IF_ERROR(AppendKvs(*rr, &r.kvs));
    }
  }
  return r;
}

Result<int64_t> DecodeRevision(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(json j, Parse(body));
  return j.contains("header") ? Int(j["header"], "revision") : int64_t{0};
}

Result<int64_t> DecodeLeaseGrant(std::string_view body) {
  AISLE_ASSIGN_OR_RETURN(json j, Parse(body));
  int64_t id = Int(j, "ID");
  if (id == 0) return Status::Unavailable("etcd: lease grant without an ID");
  return id;
}

Result<int64_t> DecodeKeepalive(std::string_view body) {
  // A streamed reply: one {"result": ...} (or {"error": ...}) per line; the first decides.
  std::string_view first = body.substr(0, body.find('\n'));
  AISLE_ASSIGN_OR_RETURN(json j, Parse(first));
  if (auto e = j.find("error"); e != j.end() && e->is_object()) {
    std::string msg = e->value("message", "");
    return Status::Unavailable("etcd: keepalive: " + msg);
  }
  auto r = j.find("result");
  if (r == j.end() || !r->is_object()) return Status::Unavailable("etcd: keepalive: no result");
  return Int(*r, "TTL");
}

std::optional<std::string> DecodeError(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_string())
    return std::nullopt;
  return j.value("message", j["error"].get<std::string>());
}

}  // namespace aisle::etcd
