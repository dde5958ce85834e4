#include "server/shards/shard_append.h"

#include <cstdlib>
#include <limits>
#include <mutex>

#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"
#include "common/archive/shard_writer.h"
#include "common/archive/source.h"
#include "common/archive/tar_header.h"
#include "common/checksum.h"
#include "common/logging.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/shards/concat_reader.h"
#include "server/shards/shard_cache.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace aisle::api {
namespace {

using archive::Format;
using archive::Member;
using archive::MemberType;

// The archive to append was packed by an archive job (here or on a peer that sent it with
// Aisle-Intra), not by a client: highly compressible members (a zip member of zeros) are not
// a bomb there, so the expansion ratio bound does not apply.
archive::Limits IncomingLimits(archive::Limits l) {
  l.max_expansion_ratio = std::numeric_limits<uint64_t>::max();
  return l;
}

// Adds member m of (src, idx) to w: decoded into a scratch spool first, since the reader
// pushes and the writer pulls.
Status CopyMember(storage::Store* store, const archive::RandomAccessSource& src,
                  const archive::ShardIndex& idx, const Member& m, archive::ShardWriter& w,
                  const archive::Limits& lim) {
  AISLE_ASSIGN_OR_RETURN(storage::FileHandle tmp, store->OpenSpool());
  storage::SpoolSink sink{tmp.get()};
  AISLE_RETURN_IF_ERROR(archive::ReadMember(src, idx, m, 0, m.size, std::ref(sink), lim));
  uint64_t pos = 0;
  int fd = tmp.get();
  return w.Add(m.name, m.size, m.mode, m.mtime, [&](char* buf, size_t n) -> Result<size_t> {
    AISLE_ASSIGN_OR_RETURN(size_t k, storage::PreadUpTo(fd, buf, n, pos, "spool"));
    pos += k;
    return k;
  });
}

// Any other pair of formats: old members (minus those the new ones replace) + new members,
// written in the shard's own format to a spool, committed as a new version.
Result<ShardAppendResult> RewriteWith(ShardCache& cache, std::string_view bucket,
                                      std::string_view shard, const OpenShard& cur, int fd,
                                      uint64_t size, const archive::ShardIndex& in) {
  storage::Store* store = cache.store();
  const archive::Limits& lim = cache.limits();
  const archive::ShardIndex& old = *cur.index;
  AISLE_ASSIGN_OR_RETURN(storage::FileHandle spool, store->OpenSpool());
  storage::SpoolSink sink{spool.get()};
  AISLE_ASSIGN_OR_RETURN(auto writer, archive::ShardWriter::Open(old.format, std::ref(sink)));
  archive::FdSource old_src(cur.obj.file->get(), cur.obj.data_offset, cur.obj.meta.size);
  for (const Member& m : old.members) {
    if (m.type != MemberType::kFile || old.Find(m.name) != &m || in.Find(m.name)) continue;
    AISLE_RETURN_IF_ERROR(CopyMember(store, old_src, old, m, *writer, lim));
  }
  archive::FdSource in_src(fd, 0, size);
  for (const Member& m : in.members) {
    if (m.type != MemberType::kFile) continue;
    AISLE_RETURN_IF_ERROR(CopyMember(store, in_src, in, m, *writer, IncomingLimits(lim)));
  }
  AISLE_RETURN_IF_ERROR(writer->Finish());
  ConcatReader body;
  body.AddFile(spool.get(), 0, sink.off);
  storage::PutOptions opts;
  opts.custom = cur.obj.meta.custom;
  ShardAppendResult out;
  out.mode = "rewrite";
  AISLE_ASSIGN_OR_RETURN(out.meta, store->Put(bucket, shard, body, opts));
  return out;
}

}  // namespace

bool InPlaceAppendsEnabled() {
  const char* v = std::getenv("AISLE_APPEND_INPLACE");
  return !v || std::string_view(v) != "0";
}

Result<ShardAppendResult> AppendArchive(ShardCache& cache, std::string_view bucket,
                                        std::string_view shard, int fd, uint64_t size, Format fmt) {
  storage::Store* store = cache.store();
  std::lock_guard<std::mutex> lock(cache.WriteLock(bucket, shard));
  auto cur = cache.Open(bucket, shard, Format::kUnknown);  // the shard's own format
  if (!cur.ok()) {
    const Status& st = cur.status();
    if (!st.IsNotFound() || st.subject() == Subject::kBucket) return st;
    ConcatReader body;  // missing: the archive as it is becomes the shard
    body.AddFile(fd, 0, size);
    ShardAppendResult out;
    out.mode = "create";
    AISLE_ASSIGN_OR_RETURN(out.meta, store->Put(bucket, shard, body, storage::PutOptions{}));
    return out;
  }
  archive::FdSource src(fd, 0, size);
  auto in = archive::BuildIndex(src, fmt, IncomingLimits(cache.limits()));
  if (!in.ok()) return in.status().WithContext("members to append");
  if (cur->index->format == Format::kTar && in->format == Format::kTar)
    return AppendTarTail(
        cache, bucket, shard, cur->obj, *cur->index,
        [&](ConcatReader& r) { r.AddFile(fd, 0, in->end_of_entries); }, in->end_of_entries,
        in->members);
  return RewriteWith(cache, bucket, shard, *cur, fd, size, *in);
}

Result<ShardAppendResult> AppendTarTail(ShardCache& cache, std::string_view bucket,
                                        std::string_view shard, const storage::ObjectReader& obj,
                                        const archive::ShardIndex& old,
                                        const std::function<void(ConcatReader&)>& add_entries,
                                        uint64_t entries_len, const std::vector<Member>& added) {
  storage::Store* store = cache.store();
  auto tail = [&](ConcatReader& r) {
    add_entries(r);
    r.AddString(std::string(archive::kTarEndBlocks, '\0'));
  };
  uint64_t new_end = old.end_of_entries + entries_len;
  ShardAppendResult out;
  bool applied = false;
  if (InPlaceAppendsEnabled()) {
    ConcatReader r;
    tail(r);
    storage::InPlaceAppend ia;
    ia.expected_version = obj.meta.version;
    ia.overwrite_at = old.end_of_entries;
    ia.tail_len = r.total();
    ia.snapshot_at = new_end;
    ia.prefix_state = cache.LoadHashState(bucket, shard, old.tag, old.end_of_entries);
    AISLE_ASSIGN_OR_RETURN(storage::InPlaceResult res, store->AppendInPlace(bucket, shard, ia, r));
    if (res.applied) {
      applied = true;
      out.mode = "inplace";
      out.meta = std::move(res.meta);
      cache.SaveHashState(bucket, shard, TagOf(out.meta), new_end, res.snapshot_state);
    } else {
      spdlog::debug("append to {}: rewriting ({})", storage::ObjectCname(bucket, shard),
                    res.fallback);
    }
  }
  if (!applied) {
    ConcatReader all;
    all.AddFile(obj.file->get(), obj.data_offset, old.end_of_entries);
    tail(all);
    storage::PutOptions opts;
    opts.custom = obj.meta.custom;
    AISLE_ASSIGN_OR_RETURN(out.meta, store->Put(bucket, shard, all, opts));
    out.mode = "rewrite";
  }
  auto idx = std::make_shared<archive::ShardIndex>(old);
  for (Member m : added) {  // same bytes, shifted by the old end of entries
    m.header_offset += old.end_of_entries;
    m.offset += old.end_of_entries;
    idx->members.push_back(std::move(m));
  }
  idx->end_of_entries = new_end;
  idx->stream_size = out.meta.size;
  idx->tag = TagOf(out.meta);
  cache.Install(bucket, shard, idx);
  return out;
}

shards::ArchiveIo StandaloneArchiveIo(ShardCache* cache, const shards::ArchiveSpec& spec) {
  shards::ArchiveIo io = shards::LocalArchiveIo(cache->store(), spec);
  io.append_shard = [cache, dst = spec.dst_bucket, fmt = spec.format](
                        const std::string& name, int fd, uint64_t size) -> Result<std::string> {
    AISLE_ASSIGN_OR_RETURN(ShardAppendResult r, AppendArchive(*cache, dst, name, fd, size, fmt));
    return r.mode;
  };
  return io;
}

void HandleArchiveAppend(ApiContext& ctx, Request& req, Response& resp, std::string_view bucket,
                         std::string_view shard) {
  if (!IsIntra(req))
    return WriteError(req, resp, 403,
                      "archappend is Aisle-internal (the archive job's append-if-exists)",
                      ctx.node);
  auto mime = req.Query("archmime");
  Format fmt = archive::FormatFromMime(mime.value_or(""));
  if (fmt == Format::kUnknown) fmt = archive::FormatFromName(shard);
  if (fmt == Format::kUnknown)
    return WriteError(req, resp, 400, "archappend: cannot tell the archive format", ctx.node);
  // The whole body first (no lock held while a peer sends), in a spool file.
  auto spool = ctx.store->OpenSpool();
  if (!spool.ok()) return WriteError(req, resp, spool.status(), ctx.node);
  storage::SpoolSink sink{spool->get()};
  char buf[64 << 10];
  for (;;) {
    auto n = req.body->Read(buf, sizeof buf);
    if (!n.ok()) return WriteError(req, resp, n.status(), ctx.node);
    if (*n == 0) break;
    if (Status st = sink(std::string_view(buf, *n)); !st.ok())
      return WriteError(req, resp, st, ctx.node);
  }
  auto r = AppendArchive(*ctx.shards, bucket, shard, spool->get(), sink.off, fmt);
  if (!r.ok()) return WriteError(req, resp, r.status(), ctx.node);
  resp.headers.Add("Ais-Append-Mode", r->mode);
  resp.headers.Add("Ais-Version", std::to_string(r->meta.version));
  resp.headers.Add("Ais-Checksum-Type", "xxhash");
  resp.headers.Add("Ais-Checksum-Value", Hex64(r->meta.xxhash));
}

}  // namespace aisle::api
