// shard-map: every regular-file member of a shard through an inner built-in, written to a new
// shard of the same format (members renamed by ext=from:to). Directories, links and other
// non-file members are dropped: the writer adds regular files only.
#include <cstring>

#include "common/archive/archive_format.h"
#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"
#include "common/archive/shard_writer.h"
#include "common/archive/stream_decoder.h"
#include "etl/builtin/builtin_ops.h"

namespace aisle::etl::builtin {
namespace {

namespace ar = aisle::archive;

struct MapOptions {
  const BuiltinOp* inner = nullptr;
  std::string ext_from, ext_to;  // with the leading '.'
  Args inner_args;               // everything but inner and ext
};

Result<MapOptions> ParseOptions(const Args& args, bool complete) {
  MapOptions o;
  for (const auto& [k, v] : args) {
    if (k != "inner" && k != "ext") o.inner_args.emplace(k, v);
  }
  if (auto it = args.find("ext"); it != args.end()) {
    const std::string& v = it->second;
    size_t colon = v.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == v.size() ||
        v.find_first_of("/:", colon + 1) != std::string::npos || v.find('/') < colon) {
      return BadValue("ext", v, "from:to, e.g. jpg:png");
    }
    auto dotted = [](std::string_view e) {
      return e.front() == '.' ? std::string(e) : "." + std::string(e);
    };
    o.ext_from = dotted(std::string_view(v).substr(0, colon));
    o.ext_to = dotted(std::string_view(v).substr(colon + 1));
  }
  auto it = args.find("inner");
  if (it == args.end()) {
    if (!complete) return o;  // the request names it
    return Status::InvalidArgument("argument 'inner' is required (a built-in to run on members)");
  }
  o.inner = FindBuiltin(it->second);
  if (o.inner == nullptr || o.inner->name == "shard-map") {
    return BadValue("inner", it->second,
                    "one of identity, md5, sha256, xxhash, decompress, image-resize");
  }
  Status st = o.inner->validate(o.inner_args, complete);
  if (!st.ok()) return st.WithContext(std::string("inner ") + std::string(o.inner->name));
  return o;
}

std::string Rename(const std::string& name, const MapOptions& o) {
  if (o.ext_from.empty() || name.size() <= o.ext_from.size() ||
      name.compare(name.size() - o.ext_from.size(), o.ext_from.size(), o.ext_from) != 0) {
    return name;
  }
  return name.substr(0, name.size() - o.ext_from.size()) + o.ext_to;
}

// Reads members in archive order: a compressed tar through one decoder from its start (one
// pass, instead of restarting at a seek point per member), others by their index entry.
class MemberFeed {
 public:
  MemberFeed(std::string_view data, const ar::ShardIndex& idx)
      : data_(data), src_(data), idx_(idx) {}

  Result<std::string_view> Read(const ar::Member& m) {
    if (auto r = ar::DirectRange(idx_, m, 0, m.size)) {
      return data_.substr(r->offset, r->length);  // stored as is: no copy
    }
    buf_.clear();
    if (ar::IsCompressedTar(idx_.format)) {
      if (!dec_ || dec_->out_pos() > m.offset) {
        AISLE_ASSIGN_OR_RETURN(
            dec_, ar::StreamDecoder::Open(idx_.format, &src_, nullptr, false, limits_));
      }
      AISLE_RETURN_IF_ERROR(dec_->Skip(m.offset - dec_->out_pos()));
      buf_.resize(m.size);
      size_t got = 0;
      while (got < m.size) {
        AISLE_ASSIGN_OR_RETURN(size_t n, dec_->Read(buf_.data() + got, m.size - got));
        if (n == 0)
          return Status::InvalidArgument("archive is truncated inside \"" + m.name + "\"");
        got += n;
      }
      return std::string_view(buf_);
    }
    AISLE_RETURN_IF_ERROR(ar::ReadMember(
        src_, idx_, m, 0, m.size,
        [&](std::string_view b) {
          buf_.append(b);
          return Status::OK();
        },
        limits_));
    return std::string_view(buf_);
  }

 private:
  std::string_view data_;
  ar::MemorySource src_;
  const ar::ShardIndex& idx_;
  ar::Limits limits_;
  std::unique_ptr<ar::StreamDecoder> dec_;
  std::string buf_;
};

}  // namespace

Status ValidateShardMap(const Args& args, bool complete) {
  return ParseOptions(args, complete).status();
}

Result<std::string> RunShardMap(const BuiltinCall& call) {
  AISLE_ASSIGN_OR_RETURN(MapOptions o, ParseOptions(*call.args, true));
  ar::Format format = ar::FormatFromName(call.object);
  if (format == ar::Format::kUnknown) format = ar::FormatFromMagic(call.data.substr(0, 512));
  if (format == ar::Format::kUnknown) {
    return Status::InvalidArgument("not a shard (tar, tgz, zip, tar.lz4 or tar.zst)");
  }
  ar::MemorySource src(call.data);
  AISLE_ASSIGN_OR_RETURN(ar::ShardIndex idx, ar::BuildIndex(src, format, ar::Limits{}));

  std::string out;
  const uint64_t limit = call.max_output;
  auto sink = [&](std::string_view b) {
    if (out.size() + b.size() > limit) {
      return Status::TooLarge("output shard exceeds max_output (" + std::to_string(limit) +
                              " bytes)");
    }
    out.append(b);
    return Status::OK();
  };
  AISLE_ASSIGN_OR_RETURN(auto writer, ar::ShardWriter::Open(format, sink));
  MemberFeed feed(call.data, idx);
  for (const ar::Member& m : idx.members) {
    if (m.type != ar::MemberType::kFile) continue;
    auto data = feed.Read(m);
    if (!data.ok()) return data.status().WithContext("member \"" + m.name + "\"");
    std::string object = std::string(call.object) + "/" + m.name;
    BuiltinCall inner{*data, object, &o.inner_args, limit};
    auto res = o.inner->run(inner);
    if (!res.ok()) return res.status().WithContext("member \"" + m.name + "\"");
    const std::string& bytes = *res;
    size_t pos = 0;
    Status st = writer->Add(Rename(m.name, o), bytes.size(), m.mode, m.mtime,
                            [&](char* buf, size_t n) -> Result<size_t> {
                              size_t k = std::min(n, bytes.size() - pos);
                              std::memcpy(buf, bytes.data() + pos, k);
                              pos += k;
                              return k;
                            });
    AISLE_RETURN_IF_ERROR(st);
  }
  AISLE_RETURN_IF_ERROR(writer->Finish());
  return out;
}

}  // namespace aisle::etl::builtin
