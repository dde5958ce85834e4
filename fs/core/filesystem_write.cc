// Filesystem, write side: create (objects and shard members), write (spool + streamed PUT
// while sequential), flush/fsync/release (the PUT that makes the object durable).
#include <fcntl.h>

#include <cerrno>
#include <cstdio>

#include "fs/core/errno_map.h"
#include "fs/core/file_handle.h"
#include "fs/core/filesystem.h"

namespace aisle::fs {

Result<std::pair<EntryOut, OpenOut>> Filesystem::Create(uint64_t parent, const std::string& name,
                                                        int flags) {
  AISLE_ASSIGN_OR_RETURN(Inode p, GetInode(parent));
  if (!ValidComponent(name)) return ErrnoStatus(EINVAL, "create " + name);
  if (Classify(p) == DirClass::kShardDir && !opts_.read_only && p.loc.view == View::kNormal) {
    return CreateMember(p, name);
  }
  if (Classify(p) != DirClass::kObjectDir || !Writable(p)) {
    return ErrnoStatus(opts_.read_only || Classify(p) != DirClass::kBucketList ? EROFS : EPERM,
                       "create " + name);
  }
  auto existing = Resolve(p, name, 0);
  if (existing.ok()) {
    if (flags & O_EXCL) return ErrnoStatus(EEXIST, "create " + name);
    if (IsDirKind(existing->kind)) return ErrnoStatus(EISDIR, "create " + name);
  } else if (ToErrno(existing.status()) != ENOENT) {
    return existing.status();
  }
  std::string bucket, key;
  ObjectDirOf(p, opts_, &bucket, &key);
  Location loc;
  loc.bucket = bucket;
  loc.key = JoinKey(key, name);
  auto h = std::make_shared<FileHandle>();
  AISLE_ASSIGN_OR_RETURN(h->spool, WriteSpool::Create(opts_.spool_dir));
  h->spool->MarkDirty();  // an empty new file is still an object
  h->may_stream = true;
  return OpenCreated(parent, name, Kind::kFile, loc, std::move(h));
}

Result<std::pair<EntryOut, OpenOut>> Filesystem::CreateMember(const Inode& p,
                                                              const std::string& name) {
  // A new file in a shard directory becomes a member appended on close (PUT ?archpath=).
  auto existing = Resolve(p, name, 0);
  if (existing.ok()) return ErrnoStatus(EEXIST, "members are append-only: " + name);
  if (ToErrno(existing.status()) != ENOENT) return existing.status();
  Location loc = p.loc;
  loc.member = JoinKey(p.kind == Kind::kShard ? "" : p.loc.member, name);
  auto h = std::make_shared<FileHandle>();
  AISLE_ASSIGN_OR_RETURN(h->spool, WriteSpool::Create(opts_.spool_dir));
  h->spool->MarkDirty();
  return OpenCreated(p.ino, name, Kind::kMember, loc, std::move(h));
}

Result<std::pair<EntryOut, OpenOut>> Filesystem::OpenCreated(uint64_t parent,
                                                             const std::string& name, Kind kind,
                                                             const Location& loc,
                                                             std::shared_ptr<FileHandle> h) {
  cache_.ClearNegative(parent, name);
  // Our own new file: its inode stays until the kernel forgets it (the listing may lag).
  Inode in =
      table_.Upsert(parent, name, kind, loc, {}, Clock::now() + std::chrono::hours(24 * 365), 1);
  h->inode = in;
  OpenOut out;
  out.fh = next_fh_++;
  {
    std::lock_guard lk(mu_);
    ++writers_[in.ino];
    files_[out.fh] = std::move(h);
  }
  return std::make_pair(ToEntry(in), out);
}

Result<size_t> Filesystem::Write(uint64_t fh, uint64_t offset, const char* data, size_t n) {
  auto h = GetHandle(fh);
  if (!h) return ErrnoStatus(EBADF, "write");
  std::lock_guard hl(h->mu);
  if (!h->spool) return ErrnoStatus(EBADF, "write to a read-only handle");
  uint64_t before = h->spool->size();
  AISLE_RETURN_IF_ERROR(h->spool->Write(offset, data, n));
  if (h->may_stream) {
    bool in_order = offset == before && (!h->stream || h->stream->appended() == before);
    if (!in_order) {
      h->may_stream = false;  // from now on the spool is the only copy we PUT
      if (h->stream) h->stream->Abort(), h->stream.reset();
    } else {
      if (!h->stream) {
        auto cur = table_.Get(h->inode.ino);
        const Location& loc = cur ? cur->loc : h->inode.loc;
        h->stream = std::make_unique<StreamUpload>(client_, loc.bucket, loc.key);
      }
      if (!h->stream->Append(data, n)) {
        h->may_stream = false;
        h->stream->Abort();
        h->stream.reset();
      }
    }
  }
  Attr a = h->inode.attr;
  a.size = h->spool->size();
  h->inode.attr = a;
  table_.SetAttr(h->inode.ino, a, Clock::now() + std::chrono::hours(24 * 365));
  return n;
}

Status Filesystem::CommitLocked(FileHandle& h) {
  if (!h.spool || !h.spool->dirty()) return Status::OK();
  const Inode& in = h.inode;
  auto cur = table_.Get(in.ino);
  const Location& loc = cur ? cur->loc : in.loc;  // follows a rename of the open file
  std::optional<ObjectHead> streamed;
  if (h.stream) {
    // The streamed PUT holds every byte (and went to the name at its start): finish it.
    bool complete = h.stream->appended() == h.spool->size() && loc.key == h.stream->key() &&
                    loc.bucket == in.loc.bucket;
    if (complete) {
      auto r = h.stream->Finish();
      if (r.ok()) streamed = *r;
    } else {
      h.stream->Abort();
    }
    h.stream.reset();
  }
  h.may_stream = false;  // later writes to this handle are PUT from the spool
  ObjectHead head;
  if (streamed) {
    head = *streamed;
    h.spool->MarkClean();
  } else if (in.kind == Kind::kMember) {
    AISLE_ASSIGN_OR_RETURN(head,
                           client_.AppendMember(loc.bucket, loc.key, loc.member, h.spool->Body()));
    h.spool->MarkClean();
    // The shard has a new version: its member listing (cached by version) is re-read once
    // the shard's attributes are.
    for (auto p = table_.Get(in.parent); p; p = table_.Get(p->parent)) {
      if (p->kind == Kind::kShard) {
        table_.ExpireAttr(p->ino);
        break;
      }
      if (p->kind != Kind::kMemberDir) break;
    }
  } else {
    AISLE_ASSIGN_OR_RETURN(head, h.spool->Commit(client_, loc.bucket, loc.key));
  }
  Attr a{h.spool->size(), head.mtime_ns, head.version};
  h.inode.attr = a;
  h.inode.loc = loc;
  table_.SetAttr(in.ino, a, AttrExpiry());
  table_.SetServedVersion(in.ino, head.version);
  cache_.InvalidateBucket(loc.bucket);
  return Status::OK();
}

Status Filesystem::Flush(uint64_t fh) {
  auto h = GetHandle(fh);
  if (!h) return ErrnoStatus(EBADF, "flush");
  std::lock_guard hl(h->mu);
  return CommitLocked(*h);
}

Status Filesystem::Release(uint64_t fh) {
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard lk(mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return ErrnoStatus(EBADF, "release");
    h = std::move(it->second);
    files_.erase(it);
  }
  Status st;
  {
    std::lock_guard hl(h->mu);
    st = CommitLocked(*h);
    if (!st.ok())
      std::fprintf(stderr, "aisle-fs: release %s: %s\n", h->inode.name.c_str(),
                   st.ToString().c_str());
  }
  if (h->spool) {
    std::lock_guard lk(mu_);
    if (--writers_[h->inode.ino] <= 0) writers_.erase(h->inode.ino);
  }
  return st;
}

}  // namespace aisle::fs
