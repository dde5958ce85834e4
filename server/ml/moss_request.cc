#include "server/ml/moss_request.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/names.h"

namespace aisle::ml {

using nlohmann::json;

namespace {

// Go encodes []byte as standard base64; the Python SDK sends URL-safe: accept both, padded or
// not.
bool DecodeOpaque(std::string s, std::string* out) {
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s.push_back('=');
  return Base64Decode(s, out);
}

Result<std::string> Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return Status::InvalidArgument(std::string("get-batch: \"") + key + "\" must be a string");
  return it->get<std::string>();
}

Result<int64_t> Int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer())
    return Status::InvalidArgument(std::string("get-batch: \"") + key + "\" must be an integer");
  return it->get<int64_t>();
}

Result<bool> Bool(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean())
    return Status::InvalidArgument(std::string("get-batch: \"") + key + "\" must be a boolean");
  return it->get<bool>();
}

Status CheckProvider(const std::string& p) {
  if (p.empty() || p == "ais") return Status::OK();
  return Status::Unsupported("get-batch: provider \"" + p + "\" is not supported (only ais)");
}

// AIStore's uname: "<provider>/<namespace>/<bucket>/<objname>", e.g. "ais/@#/b/o".
Status ParseUname(const std::string& uname, MossIn* in) {
  size_t a = uname.find('/');
  size_t b = a == std::string::npos ? a : uname.find('/', a + 1);
  size_t c = b == std::string::npos ? b : uname.find('/', b + 1);
  if (c == std::string::npos || c + 1 >= uname.size())
    return Status::InvalidArgument("get-batch: invalid uname \"" + uname + "\"");
  std::string prov = uname.substr(0, a), ns = uname.substr(a + 1, b - a - 1);
  AISLE_RETURN_IF_ERROR(CheckProvider(prov));
  if (!ns.empty() && ns != "@#")
    return Status::InvalidArgument("get-batch: uname \"" + uname + "\": namespaces unsupported");
  in->provider = prov;
  in->bucket = uname.substr(b + 1, c - b - 1);
  in->objname = uname.substr(c + 1);
  return Status::OK();
}

Result<MossIn> ParseIn(const json& j, size_t i, const std::string& default_bucket) {
  std::string where = "get-batch: in[" + std::to_string(i) + "]";
  if (!j.is_object()) return Status::InvalidArgument(where + " must be an object");
  MossIn in;
  AISLE_ASSIGN_OR_RETURN(in.objname, Str(j, "objname"));
  AISLE_ASSIGN_OR_RETURN(in.bucket, Str(j, "bucket"));
  AISLE_ASSIGN_OR_RETURN(in.provider, Str(j, "provider"));
  AISLE_ASSIGN_OR_RETURN(in.archpath, Str(j, "archpath"));
  AISLE_ASSIGN_OR_RETURN(std::string uname, Str(j, "uname"));
  AISLE_ASSIGN_OR_RETURN(std::string opaque, Str(j, "opaque"));
  AISLE_ASSIGN_OR_RETURN(in.start, Int(j, "start"));
  AISLE_ASSIGN_OR_RETURN(in.length, Int(j, "length"));
  AISLE_RETURN_IF_ERROR(CheckProvider(in.provider));
  if (!uname.empty()) AISLE_RETURN_IF_ERROR(ParseUname(uname, &in));
  if (in.bucket.empty()) in.bucket = default_bucket;
  if (in.objname.empty()) return Status::InvalidArgument(where + ": missing \"objname\"");
  if (in.bucket.empty())
    return Status::InvalidArgument(where + ": missing bucket for object \"" + in.objname + "\"");
  if (Status st = ValidateBucketName(in.bucket); !st.ok())
    return Status::InvalidArgument(where + ": " + st.message());
  if (Status st = ValidateObjectName(in.objname); !st.ok())
    return Status::InvalidArgument(where + ": " + st.message());
  if (!opaque.empty() && !DecodeOpaque(opaque, &in.opaque))
    return Status::InvalidArgument(where + ": \"opaque\" is not valid base64");
  if (in.start < 0 || in.length < -1)
    return Status::RangeNotSatisfiable(where + ": invalid range start=" + std::to_string(in.start) +
                                       " length=" + std::to_string(in.length));
  return in;
}

}  // namespace

Result<MossReq> ParseMossReq(std::string_view body, const std::string& default_bucket) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("get-batch: request body is not a JSON object (MossReq)");
  MossReq r;
  AISLE_ASSIGN_OR_RETURN(r.mime, Str(j, "mime"));
  if (!r.mime.empty()) {
    static const char* kMimes[] = {".tar", ".tgz", ".tar.gz", ".zip", ".tar.lz4", ".tar.zst"};
    bool known = false;
    for (const char* m : kMimes) known = known || r.mime == m;
    if (!known)
      return Status::InvalidArgument("get-batch: unknown output format (mime) \"" + r.mime +
                                     "\" (expecting .tar, .tgz, .tar.gz, .zip, .tar.lz4 or "
                                     ".tar.zst)");
    r.format = archive::FormatFromMime(r.mime);
  }
  AISLE_ASSIGN_OR_RETURN(r.coer, Bool(j, "coer"));
  AISLE_ASSIGN_OR_RETURN(r.onob, Bool(j, "onob"));
  AISLE_ASSIGN_OR_RETURN(r.strm, Bool(j, "strm"));
  AISLE_ASSIGN_OR_RETURN(int64_t coloc, Int(j, "coloc"));
  if (coloc < 0 || coloc > 2)
    return Status::InvalidArgument("get-batch: \"coloc\" must be 0, 1 or 2");
  r.coloc = static_cast<int>(coloc);
  AISLE_ASSIGN_OR_RETURN(r.etl_name, Str(j, "etl_name"));
  AISLE_ASSIGN_OR_RETURN(r.etl_args, Str(j, "etl_args"));
  if (r.etl_name.empty() && !r.etl_args.empty())
    return Status::InvalidArgument("get-batch: \"etl_args\" without \"etl_name\"");
  auto in = j.find("in");
  if (in == j.end() || !in->is_array() || in->empty())
    return Status::InvalidArgument("get-batch: \"in\" must be a non-empty array of entries");
  r.in.reserve(in->size());
  for (size_t i = 0; i < in->size(); ++i) {
    AISLE_ASSIGN_OR_RETURN(MossIn e, ParseIn((*in)[i], i, default_bucket));
    r.in.push_back(std::move(e));
  }
  return r;
}

std::string NameInArchive(const MossIn& in, bool onob) {
  std::string name = onob ? in.objname : in.bucket + "/" + in.objname;
  if (!in.archpath.empty()) {
    if (in.archpath.front() != '/') name += '/';
    name += in.archpath;
  }
  return name;
}

Result<std::pair<uint64_t, uint64_t>> SelectRange(const MossIn& in, uint64_t size) {
  uint64_t start = static_cast<uint64_t>(in.start);
  if (in.start == 0 && in.length == 0) return std::make_pair(uint64_t{0}, size);
  if (start > size || (in.length > 0 && static_cast<uint64_t>(in.length) > size - start)) {
    return Status::RangeNotSatisfiable("get-batch: range start=" + std::to_string(in.start) +
                                       " length=" + std::to_string(in.length) + " of \"" +
                                       NameInArchive(in, false) + "\" (" + std::to_string(size) +
                                       " bytes) is not satisfiable");
  }
  uint64_t len = in.length > 0 ? static_cast<uint64_t>(in.length) : size - start;
  return std::make_pair(start, len);
}

std::string MossRespJson(const std::string& uuid, const std::vector<MossOut>& out) {
  json arr = json::array();
  for (const MossOut& o : out) {
    json e = {{"objname", o.objname}, {"bucket", o.bucket}, {"provider", o.provider}};
    if (!o.archpath.empty()) e["archpath"] = o.archpath;
    if (!o.err_msg.empty()) e["err_msg"] = o.err_msg;
    if (!o.opaque.empty()) e["opaque"] = Base64Encode(o.opaque);
    e["size"] = o.size;
    arr.push_back(std::move(e));
  }
  json r = {{"uuid", uuid}, {"out", std::move(arr)}};
  return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace aisle::ml
