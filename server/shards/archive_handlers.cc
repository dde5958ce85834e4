#include "server/shards/archive_handlers.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "common/archive/member_reader.h"
#include "common/archive/shard_writer.h"
#include "common/archive/tar_header.h"
#include "common/checksum.h"
#include "common/clock.h"
#include "common/logging.h"
#include "server/api/byte_range.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/shards/concat_reader.h"
#include "server/shards/shard_append.h"
#include "server/shards/shard_cache.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using archive::Format;
using archive::Member;
using archive::MemberType;

constexpr uint64_t kInlineLimit = 8 << 20;  // decoded members up to this are sent from memory
constexpr uint64_t kUnsizedBodyLimit = 256 << 20;  // appended member without Content-Length
constexpr uint32_t kPineArchAppend = 1;            // the shard must exist

std::string NonEmptyQuery(const Request& req, const char* name) {
  auto v = req.Query(name);
  return v ? *v : std::string();
}

Status WithNode(const ApiContext& ctx, Status st) {
  if (st.IsNotFound() && st.subject() != Subject::kBucket) return st.WithContext(ctx.node.Name());
  return st;
}

Result<Format> RequestedFormat(const Request& req) {
  std::string mime = NonEmptyQuery(req, "archmime");
  if (mime.empty()) return Format::kUnknown;
  Format f = archive::FormatFromMime(mime);
  if (f == Format::kUnknown)
    return Status::InvalidArgument(
        "unsupported archmime \"" + mime +
        "\" (expecting .tar, .tgz, .tar.gz, .zip, .tar.lz4 or .tar.zst)");
  return f;
}

void ServeSpool(storage::FileHandle spool, uint64_t length, Response& resp) {
  auto owner = std::make_shared<storage::FileHandle>(std::move(spool));
  FileBody fb;
  fb.fd = owner->get();
  fb.owner = owner;
  fb.offset = 0;
  fb.length = length;
  resp.file = fb;
}

void SetShardHeaders(const storage::ObjectMeta& m, Response& resp) {
  resp.headers.Add("Ais-Checksum-Type", "xxhash");
  resp.headers.Add("Ais-Checksum-Value", Hex64(m.xxhash));
  resp.headers.Add("Ais-Version", std::to_string(m.version));
  resp.headers.Add("Ais-Atime", std::to_string(m.atime_ns));
}

// ---- GET one member ---------------------------------------------------------------------

// Bytes [start, start+length) of member m, decoded, in memory.
Result<std::string> ReadMemberToString(const OpenShard& sh, const Member& m, uint64_t start,
                                       uint64_t length, const archive::Limits& lim) {
  std::string out;
  out.reserve(length);
  archive::FdSource src(sh.obj.file->get(), sh.obj.data_offset, sh.obj.meta.size);
  AISLE_RETURN_IF_ERROR(archive::ReadMember(
      src, *sh.index, m, start, length,
      [&](std::string_view b) {
        out.append(b);
        return Status::OK();
      },
      lim));
  return out;
}

void GetMember(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
               std::string_view object, const std::string& archpath, Format fmt) {
  auto sh = ctx.shards->Open(bucket, object, fmt);
  if (!sh.ok()) return WriteError(req, resp, WithNode(ctx, sh.status()), ctx.node);
  const archive::ShardIndex& idx = *sh->index;
  const Member* m = idx.Find(archpath);
  if (!m) {
    return WriteError(
        req, resp,
        Status::NotFound(ctx.node.Name() + ": " + storage::ObjectCname(bucket, object) +
                         ": archived file \"" + archpath + "\" does not exist"),
        ctx.node);
  }
  if (m->type == MemberType::kDir)
    return WriteError(req, resp, 400, "\"" + archpath + "\" is a directory in the archive",
                      ctx.node);
  auto range = ApplyRange(req, resp, m->size, MultiRange::kRefuse,
                          [&](const Status& st) { WriteError(req, resp, st, ctx.node); });
  if (!range.ok()) return;
  uint64_t start = range->start, length = range->length;
  resp.headers.Add("Content-Type", "application/octet-stream");
  resp.headers.Add("Accept-Ranges", "bytes");
  resp.headers.Add("Last-Modified", HttpDate(m->mtime * 1000000000));
  if (req.method == "HEAD") {
    resp.head_length = length;
    return;
  }
  const storage::ObjectReader& obj = sh->obj;
  if (auto d = archive::DirectRange(idx, *m, start, length)) {  // one sendfile, O(1)
    FileBody fb;
    fb.owner = obj.file;
    fb.fd = obj.file->get();
    fb.offset = obj.data_offset + d->offset;
    fb.length = d->length;
    resp.file = fb;
    return;
  }
  archive::FdSource src(obj.file->get(), obj.data_offset, obj.meta.size);
  const archive::Limits& lim = ctx.shards->limits();
  if (length <= kInlineLimit) {
    auto out = ReadMemberToString(*sh, *m, start, length, lim);
    if (!out.ok())
      return WriteError(req, resp, out.status().WithContext(storage::ObjectCname(bucket, object)),
                        ctx.node);
    resp.body = std::move(out).value();
    return;
  }
  auto spool = ctx.store->OpenSpool();
  if (!spool.ok()) return WriteError(req, resp, spool.status(), ctx.node);
  storage::SpoolSink sink{spool->get()};
  Status st = archive::ReadMember(src, idx, *m, start, length, std::ref(sink), lim);
  if (!st.ok())
    return WriteError(req, resp, st.WithContext(storage::ObjectCname(bucket, object)), ctx.node);
  ServeSpool(std::move(spool).value(), length, resp);
}

// ---- GET matching members as a TAR ----------------------------------------------------------

Result<std::function<bool(const std::string&)>> Matcher(const std::string& regx,
                                                        const std::string& mode_in) {
  std::string mode =
      mode_in.empty() ? (regx.empty() || regx == "*" ? "prefix" : "regexp") : mode_in;
  if (regx.empty() || regx == "*")
    return std::function<bool(const std::string&)>([](const std::string&) { return true; });
  if (mode == "prefix")
    return std::function<bool(const std::string&)>(
        [regx](const std::string& n) { return n.rfind(regx, 0) == 0; });
  if (mode == "suffix")
    return std::function<bool(const std::string&)>([regx](const std::string& n) {
      return n.size() >= regx.size() && n.compare(n.size() - regx.size(), regx.size(), regx) == 0;
    });
  if (mode == "substr")
    return std::function<bool(const std::string&)>(
        [regx](const std::string& n) { return n.find(regx) != std::string::npos; });
  if (mode == "wdskey")  // WebDataset key: the name without its extension(s)
    return std::function<bool(const std::string&)>([regx](const std::string& n) {
      size_t slash = n.rfind('/');
      size_t dot = n.find('.', slash == std::string::npos ? 0 : slash + 1);
      return n.substr(0, dot) == regx;
    });
  if (mode == "regexp") {
    try {
      auto re = std::make_shared<std::regex>(regx, std::regex::ECMAScript);
      return std::function<bool(const std::string&)>(
          [re](const std::string& n) { return std::regex_search(n, *re); });
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("invalid archregx \"" + regx + "\": " + e.what());
    }
  }
  return Status::InvalidArgument("invalid archmode \"" + mode +
                                 "\" (expecting regexp, prefix, suffix, substr or wdskey)");
}

void GetMatching(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                 std::string_view object, Format fmt) {
  auto match = Matcher(NonEmptyQuery(req, "archregx"), NonEmptyQuery(req, "archmode"));
  if (!match.ok()) return WriteError(req, resp, match.status(), ctx.node);
  auto sh = ctx.shards->Open(bucket, object, fmt);
  if (!sh.ok()) return WriteError(req, resp, WithNode(ctx, sh.status()), ctx.node);
  const archive::ShardIndex& idx = *sh->index;
  std::vector<const Member*> hits;
  for (const auto& m : idx.members) {
    // Unsafe names (absolute, "..", NUL) are skipped: the TAR made here must extract safely.
    if (m.type == MemberType::kFile && m.name_flags == 0 && idx.Find(m.name) == &m &&
        (*match)(m.name))
      hits.push_back(&m);
  }
  if (hits.empty()) {
    return WriteError(
        req, resp,
        Status::NotFound(ctx.node.Name() + ": " + storage::ObjectCname(bucket, object) +
                         ": no archived file matches \"" + NonEmptyQuery(req, "archregx") + "\""),
        ctx.node);
  }
  auto spool = ctx.store->OpenSpool();
  if (!spool.ok()) return WriteError(req, resp, spool.status(), ctx.node);
  storage::SpoolSink sink{spool->get()};
  const storage::ObjectReader& obj = sh->obj;
  archive::FdSource src(obj.file->get(), obj.data_offset, obj.meta.size);
  for (const Member* m : hits) {
    Status st = sink(archive::TarFileHeader(m->name, m->size, m->mode, m->mtime));
    if (st.ok())
      st = archive::ReadMember(src, idx, *m, 0, m->size, std::ref(sink), ctx.shards->limits());
    if (st.ok()) st = sink(std::string(archive::TarPadding(m->size), '\0'));
    if (!st.ok())
      return WriteError(req, resp, st.WithContext(storage::ObjectCname(bucket, object)), ctx.node);
  }
  if (Status st = sink(std::string(archive::kTarEndBlocks, '\0')); !st.ok())
    return WriteError(req, resp, st, ctx.node);
  resp.headers.Add("Content-Type", "application/x-tar");
  if (req.method == "HEAD") {
    resp.head_length = sink.off;
    return;
  }
  uint64_t total = sink.off;
  ServeSpool(std::move(spool).value(), total, resp);
}

// ---- JSON listing ------------------------------------------------------------------------------

const char* TypeName(MemberType t) {
  switch (t) {
    case MemberType::kFile: return "file";
    case MemberType::kDir: return "dir";
    case MemberType::kSymlink: return "symlink";
    case MemberType::kHardlink: return "hardlink";
    case MemberType::kOther: break;
  }
  return "other";
}

// WebDataset: dir/000123.jpg and dir/000123.cls are sample "dir/000123", fields jpg and cls.
std::pair<std::string, std::string> SampleKey(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t dot = name.find('.', slash == std::string::npos ? 0 : slash + 1);
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

void ListJson(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
              std::string_view object, Format fmt) {
  auto sh = ctx.shards->Open(bucket, object, fmt);
  if (!sh.ok()) return WriteError(req, resp, WithNode(ctx, sh.status()), ctx.node);
  const archive::ShardIndex& idx = *sh->index;
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : idx.members) {
    nlohmann::json j = {{"name", m.name},
                        {"size", m.size},
                        {"type", TypeName(m.type)},
                        {"mode", m.mode},
                        {"mtime", m.mtime}};
    if (idx.Find(m.name) != &m) j["shadowed"] = true;  // a later member has the same name
    if (m.name_flags) j["unsafe"] = archive::DescribeNameFlags(m.name_flags);
    members.push_back(std::move(j));
  }
  nlohmann::json out = {{"shard", storage::ObjectCname(bucket, object)},
                        {"format", archive::FormatExtension(idx.format)},
                        {"version", std::to_string(idx.tag.version)},
                        {"seek_points", idx.points.size()},
                        {"members", std::move(members)}};
  if (NonEmptyQuery(req, "group") == "samples") {
    std::map<std::string, nlohmann::json> samples;
    for (const auto& m : idx.members) {
      if (m.type != MemberType::kFile || idx.Find(m.name) != &m) continue;
      auto [key, field] = SampleKey(m.name);
      auto& s = samples[key];
      if (s.is_null()) s = {{"key", key}, {"members", nlohmann::json::object()}};
      s["members"][field] = m.name;
    }
    nlohmann::json arr = nlohmann::json::array();
    for (auto& [k, v] : samples) arr.push_back(std::move(v));
    out["samples"] = std::move(arr);
  }
  resp.headers.Set("Content-Type", "application/json");
  resp.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---- PUT ?archpath=: append one member ----------------------------------------------------------

// The member's bytes: streamed when Content-Length is known, else buffered (bounded).
struct MemberBody {
  BodyReader* reader = nullptr;
  uint64_t size = 0;
  std::shared_ptr<std::string> buffered;  // heap, so the reader's view survives moves
  std::shared_ptr<StringBodyReader> holder;
};

Result<MemberBody> TakeBody(Request& req) {
  MemberBody b;
  if (auto n = req.body->DeclaredLength()) {
    b.reader = req.body;
    b.size = *n;
    return b;
  }
  AISLE_ASSIGN_OR_RETURN(std::string data, req.ReadBody(kUnsizedBodyLimit));
  b.buffered = std::make_shared<std::string>(std::move(data));
  b.size = b.buffered->size();
  b.holder = std::make_shared<StringBodyReader>(*b.buffered);
  b.reader = b.holder.get();
  return b;
}

archive::MemberSource SourceOf(BodyReader* r) {
  return [r](char* buf, size_t n) -> Result<size_t> { return r->Read(buf, n); };
}

// Writes a whole new shard (new or rewritten) to a spool, then commits it as the object.
Result<storage::ObjectMeta> CommitSpool(ApiContext& ctx, std::string_view bucket,
                                        std::string_view object, storage::FileHandle& spool,
                                        uint64_t size, const storage::ObjectMeta* prev) {
  ConcatReader body;
  body.AddFile(spool.get(), 0, size);
  storage::PutOptions opts;
  if (prev) opts.custom = prev->custom;
  return ctx.store->Put(bucket, object, body, opts);
}

// The appended member, read whole before any lock is taken (a slow client must not hold a
// shard's write lock): in memory up to kInlineLimit, else in a spool file.
struct MemberBytes {
  uint64_t size = 0;
  std::string data;
  std::shared_ptr<storage::FileHandle> spool;
  void AddTo(ConcatReader& r) const {
    if (spool)
      r.AddFile(spool->get(), 0, size);
    else
      r.AddString(data);
  }
};

Result<MemberBytes> Materialize(ApiContext& ctx, const MemberBody& body) {
  MemberBytes m;
  m.size = body.size;
  if (body.buffered) {
    m.data = *body.buffered;
    return m;
  }
  char buf[64 << 10];
  uint64_t done = 0;
  storage::FileHandle spool;
  if (body.size > kInlineLimit) {
    AISLE_ASSIGN_OR_RETURN(spool, ctx.store->OpenSpool());
  } else {
    m.data.reserve(body.size);
  }
  while (done < body.size) {
    AISLE_ASSIGN_OR_RETURN(
        size_t n, body.reader->Read(buf, std::min<uint64_t>(sizeof buf, body.size - done)));
    if (n == 0) return Status::InvalidArgument("request body ended before its declared length");
    if (spool.valid())
      AISLE_RETURN_IF_ERROR(storage::PwriteAll(spool.get(), buf, n, done, "spool"));
    else
      m.data.append(buf, n);
    done += n;
  }
  if (spool.valid()) m.spool = std::make_shared<storage::FileHandle>(std::move(spool));
  return m;
}

// Tar: the member's header + bytes + padding go where the end blocks were (AppendTarTail: in
// place when the store can, else a new version). Answers Ais-Append-Mode.
Result<storage::ObjectMeta> AppendTar(ApiContext& ctx, std::string_view bucket,
                                      std::string_view object, const storage::ObjectReader& obj,
                                      const archive::ShardIndex& old, const std::string& name,
                                      int64_t now, const MemberBytes& member, Response& resp) {
  std::string header = archive::TarFileHeader(name, member.size, 0644, now);
  std::string padding(archive::TarPadding(member.size), '\0');
  Member m;
  m.name = name;
  m.header_offset = 0;
  m.offset = header.size();
  m.size = m.csize = member.size;
  m.mode = 0644;
  m.mtime = now;
  auto entries = [&](ConcatReader& r) {
    r.AddString(header);
    member.AddTo(r);
    r.AddString(padding);
  };
  AISLE_ASSIGN_OR_RETURN(ShardAppendResult res,
                         AppendTarTail(*ctx.shards, bucket, object, obj, old, entries,
                                       header.size() + member.size + padding.size(), {m}));
  resp.headers.Add("Ais-Append-Mode", res.mode);
  return res.meta;
}

// Writes every file member of `old` but `name` (which the append replaces) into `writer`, in
// order. Pull-based writer, push-based reader: each member is decoded to a spool first.
Status CopyMembersExcept(ApiContext& ctx, std::string_view bucket, std::string_view object,
                         const storage::ObjectReader& obj, const archive::ShardIndex& old,
                         const std::string& name, const archive::Limits& limits,
                         archive::ShardWriter& writer) {
  archive::FdSource src(obj.file->get(), obj.data_offset, obj.meta.size);
  for (const auto& m : old.members) {
    if (m.type != MemberType::kFile || old.Find(m.name) != &m || m.name == name) continue;
    auto tmp = ctx.store->OpenSpool();
    if (!tmp.ok()) return tmp.status();
    storage::SpoolSink ms{tmp->get()};
    Status st = archive::ReadMember(src, old, m, 0, m.size, std::ref(ms), limits);
    uint64_t pos = 0;
    int fd = tmp->get();
    if (st.ok())
      st = writer.Add(m.name, m.size, m.mode, m.mtime, [&](char* buf, size_t n) -> Result<size_t> {
        AISLE_ASSIGN_OR_RETURN(size_t k, storage::PreadUpTo(fd, buf, n, pos, "spool"));
        pos += k;
        return k;
      });
    if (!st.ok()) return st.WithContext("rewrite " + storage::ObjectCname(bucket, object));
  }
  return Status::OK();
}

// Other formats (and new shards): the whole shard written again with the member, streaming
// through a spool, then committed. `old` and `cur` are null for a new shard.
Result<storage::ObjectMeta> RewriteShard(ApiContext& ctx, std::string_view bucket,
                                         std::string_view object, Format fmt,
                                         const archive::ShardIndex* old,
                                         const storage::ObjectReader* cur, const std::string& name,
                                         const MemberBody& body, int64_t now,
                                         const archive::Limits& limits) {
  AISLE_ASSIGN_OR_RETURN(auto spool, ctx.store->OpenSpool());
  storage::SpoolSink sink{spool.get()};
  AISLE_ASSIGN_OR_RETURN(auto writer, archive::ShardWriter::Open(fmt, std::ref(sink)));
  if (old)
    AISLE_RETURN_IF_ERROR(
        CopyMembersExcept(ctx, bucket, object, *cur, *old, name, limits, *writer));
  Status st = writer->Add(name, body.size, 0644, now, SourceOf(body.reader));
  if (st.ok()) st = writer->Finish();
  if (!st.ok()) return st;
  return CommitSpool(ctx, bucket, object, spool, sink.off, cur ? &cur->meta : nullptr);
}

// The Ais-Pine header's flags (0 when absent); nullopt when it is not a number.
std::optional<uint32_t> PineFlags(const std::string& pine_hdr) {
  if (pine_hdr.empty()) return 0;
  try {
    return static_cast<uint32_t>(std::stoul(pine_hdr));
  } catch (...) {
    return std::nullopt;
  }
}

void Append(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
            std::string_view object, const std::string& name, Format fmt) {
  ShardCache& cache = *ctx.shards;
  if (name.size() > cache.limits().max_name_len)
    return WriteError(
        req, resp, 400,
        "archpath longer than " + std::to_string(cache.limits().max_name_len) + " bytes", ctx.node);
  if (uint8_t f = archive::CheckMemberName(name))
    return WriteError(req, resp, 400,
                      "invalid archpath \"" + name + "\": " + archive::DescribeNameFlags(f),
                      ctx.node);
  std::string pine_hdr = req.headers.Get("Ais-Pine");
  std::optional<uint32_t> pine = PineFlags(pine_hdr);
  if (!pine) return WriteError(req, resp, 400, "invalid Ais-Pine \"" + pine_hdr + "\"", ctx.node);
  auto body = TakeBody(req);
  if (!body.ok()) return WriteError(req, resp, body.status(), ctx.node);
  // A tar member is received whole before any lock (it may go in place, under the store's
  // locks); the rest stream into their rewrite.
  Result<MemberBytes> member = Status::NotFound("not materialised");
  ConcatReader member_reader;
  if (fmt == Format::kTar ||
      (fmt == Format::kUnknown && archive::FormatFromName(object) == Format::kTar)) {
    member = Materialize(ctx, *body);
    if (!member.ok()) return WriteError(req, resp, member.status(), ctx.node);
    member->AddTo(member_reader);
    body->reader = &member_reader;
  }
  int64_t now = static_cast<int64_t>(::time(nullptr));
  std::lock_guard<std::mutex> lock(cache.WriteLock(bucket, object));

  auto cur = ctx.store->Get(bucket, object);
  if (!cur.ok() && !cur.status().IsNotFound()) return WriteError(req, resp, cur.status(), ctx.node);
  bool exists = cur.ok();
  if (!exists && (*pine & kPineArchAppend))
    return WriteError(req, resp, WithNode(ctx, cur.status()), ctx.node);
  if (!exists && cur.status().subject() == Subject::kBucket)
    return WriteError(req, resp, cur.status(), ctx.node);
  if (fmt == Format::kUnknown) fmt = archive::FormatFromName(object);

  std::shared_ptr<const archive::ShardIndex> old;
  if (exists) {
    auto sh = cache.Open(bucket, object, fmt);
    if (!sh.ok()) return WriteError(req, resp, WithNode(ctx, sh.status()), ctx.node);
    old = sh->index;
    fmt = old->format;
    cur = std::move(sh->obj);
  } else if (fmt == Format::kUnknown) {
    return WriteError(req, resp, 400,
                      "cannot tell the archive format of \"" + std::string(object) +
                          "\" (use a .tar/.tgz/.zip/.tar.lz4/.tar.zst name or archmime)",
                      ctx.node);
  }

  if (exists && fmt == Format::kTar) {
    if (!member.ok()) member = Materialize(ctx, *body);  // a tar by its magic bytes
    if (!member.ok()) return WriteError(req, resp, member.status(), ctx.node);
    auto meta = AppendTar(ctx, bucket, object, *cur, *old, name, now, *member, resp);
    if (!meta.ok()) return WriteError(req, resp, meta.status(), ctx.node);
    SetShardHeaders(*meta, resp);
    return;
  }

  auto meta = RewriteShard(ctx, bucket, object, fmt, old.get(), exists ? &*cur : nullptr, name,
                           *body, now, cache.limits());
  if (!meta.ok()) return WriteError(req, resp, meta.status(), ctx.node);
  resp.headers.Add("Ais-Append-Mode", exists ? "rewrite" : "create");
  SetShardHeaders(*meta, resp);
}

}  // namespace

Result<std::string> ReadMemberBytes(ApiContext& ctx, std::string_view bucket,
                                    std::string_view shard, const std::string& archpath,
                                    uint64_t max) {
  AISLE_ASSIGN_OR_RETURN(OpenShard sh, ctx.shards->Open(bucket, shard, Format::kUnknown));
  const Member* m = sh.index->Find(archpath);
  if (!m)
    return Status::NotFound(ctx.node.Name() + ": " + storage::ObjectCname(bucket, shard) +
                            ": archived file \"" + archpath + "\" does not exist");
  if (m->type == MemberType::kDir)
    return Status::InvalidArgument("\"" + archpath + "\" is a directory in the archive");
  if (m->size > max)
    return Status::TooLarge("\"" + archpath + "\" is too large for an inline transform");
  auto out = ReadMemberToString(sh, *m, 0, m->size, ctx.shards->limits());
  if (!out.ok()) return out.status().WithContext(storage::ObjectCname(bucket, shard));
  return out;
}

bool LooksLikeShard(std::string_view name) { return !archive::ShardExtension(name).empty(); }

bool IsArchiveRequest(const Request& req) {
  for (const char* p : {"archpath", "archregx", "archlist", "archappend"}) {
    auto v = req.Query(p);
    if (v && !v->empty()) return true;
  }
  // archregx= with an explicit archmode still means "all members" (AIStore: empty = match all).
  auto mode = req.Query("archmode");
  return mode && !mode->empty() && req.Query("archregx").has_value();
}

void HandleArchive(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                   std::string_view object) {
  auto fmt = RequestedFormat(req);
  if (!fmt.ok()) return WriteError(req, resp, fmt.status(), ctx.node);
  std::string archpath = NonEmptyQuery(req, "archpath");
  if (req.method == "PUT" && NonEmptyQuery(req, "archappend") == "true") {
    HandleArchiveAppend(ctx, req, resp, bucket, object);  // the archive job's aate
    if (resp.status == 200) {
      if (Status st = AfterLocalPut(ctx, req, bucket, object); !st.ok())
        WriteError(req, resp, st, ctx.node);
    }
    return;
  }
  if (req.method == "PUT") {
    if (archpath.empty())
      return WriteError(req, resp, 400, "PUT into a shard needs archpath=<member name>", ctx.node);
    Append(ctx, req, resp, bucket, object, archpath, *fmt);
    if (resp.status == 200) {  // the new shard version goes to the other copies too
      if (Status st = AfterLocalPut(ctx, req, bucket, object); !st.ok())
        WriteError(req, resp, st, ctx.node);
    }
    return;
  }
  if (req.method != "GET" && req.method != "HEAD")
    return WriteError(req, resp, 405, "method " + req.method + " not allowed with archpath",
                      ctx.node);
  if (!archpath.empty()) {
    if (!NonEmptyQuery(req, "archregx").empty())
      return WriteError(req, resp, 400, "archpath and archregx are mutually exclusive", ctx.node);
    return GetMember(ctx, req, resp, bucket, object, archpath, *fmt);
  }
  if (NonEmptyQuery(req, "archlist") == "true")
    return ListJson(ctx, req, resp, bucket, object, *fmt);
  return GetMatching(ctx, req, resp, bucket, object, *fmt);
}

Result<ShardMembers> ListShardMembers(ApiContext& ctx, std::string_view bucket,
                                      std::string_view shard) {
  ShardCache& cache = *ctx.shards;
  AISLE_ASSIGN_OR_RETURN(OpenShard sh, cache.Open(bucket, shard, Format::kUnknown));
  return cache.Members(bucket, shard, sh.index);
}

}  // namespace aisle::api
