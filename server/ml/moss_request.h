// GetBatch (AIStore's "moss", /v1/ml/moss): the request and per-entry result in AIStore's JSON
// shapes (api/apc/ml.go: MossReq, MossIn, MossOut, MossResp), parsed and checked once, shared by
// the proxy (routing) and the target (assembly).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/archive/archive_format.h"
#include "common/result.h"

namespace aisle::ml {

// Name prefix of a missing entry's empty member when coer is set (apc.MossMissingDir).
inline constexpr std::string_view kMissingDir = "__404__";

struct MossIn {
  std::string objname;
  std::string bucket;    // resolved: the entry's own, its uname's, or the request's bucket
  std::string provider;  // as sent ("" = ais)
  std::string archpath;  // a member of the shard `objname`
  std::string opaque;    // decoded bytes; given back (standard base64) in MossOut
  int64_t start = 0;
  int64_t length = 0;  // 0 = whole (from start), -1 = to the end, >0 = exactly that many
};

struct MossReq {
  std::vector<MossIn> in;
  std::string mime;  // as sent
  archive::Format format = archive::Format::kTar;
  bool coer = false;
  bool onob = false;
  bool strm = false;
  int coloc = 0;
  // Aisle extension: every entry's bytes through this ETL ("" = none), with these etl_args.
  std::string etl_name, etl_args;
};

struct MossOut {
  std::string objname, archpath, bucket, provider, err_msg, opaque;
  uint64_t size = 0;
};

// Parses a MossReq body. default_bucket: the URL's /v1/ml/moss/BUCKET ("" when absent). Bad
// JSON, an empty `in`, an unknown mime, bad base64, a negative range, an entry without a
// bucket -> kInvalidArgument; a provider other than ais -> kUnsupported.
Result<MossReq> ParseMossReq(std::string_view body, const std::string& default_bucket);

// The member name of entry `in` in the output archive: BUCKET/OBJNAME[/ARCHPATH] (onob: without
// BUCKET/); missing entries under kMissingDir/.
std::string NameInArchive(const MossIn& in, bool onob);

// The byte range [off, off+len) that start/length select in an entry of `size` bytes;
// kRangeNotSatisfiable when it does not fit.
Result<std::pair<uint64_t, uint64_t>> SelectRange(const MossIn& in, uint64_t size);

// MossResp JSON: {"uuid":..., "out":[MossOut...]}.
std::string MossRespJson(const std::string& uuid, const std::vector<MossOut>& out);

}  // namespace aisle::ml
