#define FUSE_USE_VERSION 312
#include "fs/fuse/fuse_ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "fs/core/errno_map.h"
#include "fs/core/filesystem.h"
#include "fs/core/mount_options.h"

namespace aisle::fs {
namespace {

// One mount's state, handed to libfuse as the session's userdata (no process-wide globals).
struct Mount {
  Filesystem* fs = nullptr;  // set before the session loop starts
  std::string mountpoint;
  std::once_flag readahead_once;
  std::atomic<uint64_t> reads{0}, read_bytes{0};
  std::atomic<bool> splice_replies{false};  // FUSE_CAP_SPLICE_WRITE negotiated at INIT
};

// Valid until the request is replied to: take what is needed after the reply before it.
Mount& M(fuse_req_t req) { return *static_cast<Mount*>(fuse_req_userdata(req)); }
Filesystem& FS(fuse_req_t req) { return *M(req).fs; }

FsMetrics& Rec(fuse_req_t req) { return FS(req).metrics(); }

void ReplyError(fuse_req_t req, const Status& st) {
  int e = ToErrno(st);
  Rec(req).Error(e);
  if (e == EIO || e == ENOMEM)
    spdlog::error("aisle-fs: {}", st.ToString());
  else
    spdlog::debug("aisle-fs: {}", st.ToString());
  fuse_reply_err(req, e);
}

// fuse_reply_err with the errno of `st` (0 when OK), counted when it is an error.
void ReplyStatus(fuse_req_t req, const Status& st) {
  int e = ToErrno(st);
  Rec(req).Error(e);
  fuse_reply_err(req, e);
}

// Every callback body runs inside Guard: nothing escapes into libfuse's C frames.
template <typename F>
void Guard(fuse_req_t req, F&& f) {
  try {
    f();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    spdlog::error("aisle-fs: exception in a FUSE callback: {}", e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

struct stat ToStat(const AttrOut& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 1 << 20;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_mtim.tv_sec = a.mtime_ns / 1000000000;
  st.st_mtim.tv_nsec = a.mtime_ns % 1000000000;
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  return st;
}

fuse_entry_param ToEntryParam(const EntryOut& e) {
  fuse_entry_param p{};
  p.ino = e.attr.ino;
  p.generation = 1;
  p.attr = ToStat(e.attr);
  p.attr_timeout = e.attr_timeout;
  p.entry_timeout = e.entry_timeout;
  return p;
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  // Always readdirplus: attributes come with the listing, so `ls -l` needs no lookups.
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // Replies from local files are spliced (fuse_reply_data with an fd buffer).
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
    conn->want |= FUSE_CAP_SPLICE_WRITE;
    static_cast<Mount*>(userdata)->splice_replies = true;
  }
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  spdlog::info("aisle-fs: kernel FUSE {}.{}: max_write={} max_readahead={} max_read={} splice={}",
               conn->proto_major, conn->proto_minor, conn->max_write, conn->max_readahead,
               conn->max_read, (conn->capable & FUSE_CAP_SPLICE_WRITE) ? "yes" : "no");
}

// The kernel caps FUSE readahead at 128 KiB unless the bdi is told otherwise; large
// sequential reads (up to max_pages = 1 MiB per request) need a bigger window. Best effort
// (root only). Reads /proc/self/mountinfo, never the mount itself (the loop is not running).
void RaiseKernelReadahead(const std::string& mountpoint, unsigned kb) {
  char real[PATH_MAX];
  if (realpath(mountpoint.c_str(), real) == nullptr) return;
  FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (f == nullptr) return;
  char line[4096];
  std::string dev;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    char mdev[64], mpoint[PATH_MAX];
    if (std::sscanf(line, "%*d %*d %63s %*s %4095s", mdev, mpoint) == 2 &&
        real == std::string(mpoint) && std::strstr(line, "fuse.aisle") != nullptr) {
      dev = mdev;  // the last match is the newest mount
    }
  }
  std::fclose(f);
  if (dev.empty()) return;
  std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  FILE* ra = std::fopen(path.c_str(), "w");
  if (ra == nullptr) return;
  std::fprintf(ra, "%u", kb);
  std::fclose(ra);
}

// The kernel sets the bdi readahead from our INIT reply and holds every other request until
// that reply is processed, so the first later request is the earliest point at which the
// bigger window sticks -- and it comes before any file of the mount is opened (a file takes
// its readahead size at open), so no reader ever starts with the small window.
void RaiseReadaheadOnce(fuse_req_t req) {
  Mount& m = M(req);
  std::call_once(m.readahead_once, [&m] { RaiseKernelReadahead(m.mountpoint, 8192); });
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  RaiseReadaheadOnce(req);
  Rec(req).Op(FuseOp::kLookup);
  Guard(req, [&] {
    auto r = FS(req).Lookup(parent, name);
    if (!r.ok()) {
      if (ToErrno(r.status()) == ENOENT && FS(req).options().negative_timeout > 0) {
        fuse_entry_param p{};
        p.ino = 0;  // a negative entry the kernel may cache
        p.entry_timeout = FS(req).options().negative_timeout;
        fuse_reply_entry(req, &p);
        return;
      }
      return ReplyError(req, r.status());
    }
    auto p = ToEntryParam(*r);
    fuse_reply_entry(req, &p);
  });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  try {
    FS(req).Forget(ino, nlookup);
  } catch (...) {
  }
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  try {
    for (size_t i = 0; i < count; ++i) FS(req).Forget(forgets[i].ino, forgets[i].nlookup);
  } catch (...) {
  }
  fuse_reply_none(req);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  RaiseReadaheadOnce(req);
  Rec(req).Op(FuseOp::kGetattr);
  Guard(req, [&] {
    auto r = FS(req).GetAttr(ino);
    if (!r.ok()) return ReplyError(req, r.status());
    struct stat st = ToStat(*r);
    fuse_reply_attr(req, &st, FS(req).options().attr_timeout);
  });
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Guard(req, [&] {
    std::optional<uint64_t> size, fh;
    if (to_set & FUSE_SET_ATTR_SIZE) size = static_cast<uint64_t>(attr->st_size);
    if (fi != nullptr) fh = fi->fh;
    auto r = FS(req).SetAttr(ino, size, fh);
    if (!r.ok()) return ReplyError(req, r.status());
    struct stat st = ToStat(*r);
    fuse_reply_attr(req, &st, FS(req).options().attr_timeout);
  });
}

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] {
    auto r = FS(req).OpenDir(ino);
    if (!r.ok()) return ReplyError(req, r.status());
    fi->fh = *r;
    fi->cache_readdir = 0;
    Filesystem& fs = FS(req);                                    // req is gone once replied to
    if (fuse_reply_open(req, fi) == -ENOENT) fs.ReleaseDir(*r);  // interrupted
  });
}

void DoReadDir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  Rec(req).Op(FuseOp::kReaddir);
  Guard(req, [&] {
    std::vector<char> buf(size);
    size_t used = 0;
    Status st = FS(req).ReadDir(
        fi->fh, static_cast<uint64_t>(off), plus,
        [&](const DirentOut& d, const EntryOut* e) -> bool {
          size_t rem = size - used;
          size_t need;
          if (plus) {
            fuse_entry_param p = ToEntryParam(*e);
            need = fuse_add_direntry_plus(req, buf.data() + used, rem, d.name.c_str(), &p,
                                          static_cast<off_t>(d.next_offset));
          } else {
            struct stat s {};
            s.st_ino = d.ino;
            s.st_mode = d.is_dir ? S_IFDIR : S_IFREG;
            need = fuse_add_direntry(req, buf.data() + used, rem, d.name.c_str(), &s,
                                     static_cast<off_t>(d.next_offset));
          }
          if (need > rem) return false;
          used += need;
          return true;
        });
    if (!st.ok()) return ReplyError(req, st);
    fuse_reply_buf(req, buf.data(), used);
  });
}

void OpReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, size, off, fi, false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  DoReadDir(req, size, off, fi, true);
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    FS(req).ReleaseDir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OpMkDir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  Guard(req, [&] {
    auto r = FS(req).MkDir(parent, name);
    if (!r.ok()) return ReplyError(req, r.status());
    auto p = ToEntryParam(*r);
    fuse_reply_entry(req, &p);
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] {
    Status st = FS(req).Unlink(parent, name);
    ReplyStatus(req, st);
  });
}

void OpRmDir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] {
    Status st = FS(req).RmDir(parent, name);
    ReplyStatus(req, st);
  });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Guard(req, [&] {
    Status st = FS(req).Rename(parent, name, newparent, newname, flags);
    ReplyStatus(req, st);
  });
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  RaiseReadaheadOnce(req);
  Rec(req).Op(FuseOp::kOpen);
  Guard(req, [&] {
    auto r = FS(req).Open(ino, fi->flags);
    if (!r.ok()) return ReplyError(req, r.status());
    fi->fh = r->fh;
    fi->keep_cache = r->keep_cache;
    fi->direct_io = r->direct_io;
    fi->noflush = r->noflush;
    Filesystem& fs = FS(req);  // req is gone once replied to
    if (fuse_reply_open(req, fi) == -ENOENT) (void)fs.Release(r->fh);
  });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  Guard(req, [&] {
    auto r = FS(req).Create(parent, name, fi->flags);
    if (!r.ok()) return ReplyError(req, r.status());
    fi->fh = r->second.fh;
    auto p = ToEntryParam(r->first);
    Filesystem& fs = FS(req);  // req is gone once replied to
    if (fuse_reply_create(req, &p, fi) == -ENOENT) (void)fs.Release(r->second.fh);
  });
}

// A pipe per loop thread for reads spliced from an open range GET (socket -> pipe ->
// /dev/fuse): big enough for a 1 MiB read (fs.pipe-max-size permitting), else not used.
class ReadPipe {
 public:
  ReadPipe() {
    if (::pipe2(fd_, O_CLOEXEC | O_NONBLOCK) != 0) return;
    // Only the read end is non-blocking (for draining). Splices into the write end do not
    // wait for room either (SPLICE_F_NONBLOCK); writes to it are bounded by its free room.
    ::fcntl(fd_[1], F_SETFL, 0);
    ok_ = ::fcntl(fd_[1], F_SETPIPE_SZ, 2 << 20) >= (2 << 20);
  }
  ~ReadPipe() {
    for (int fd : fd_)
      if (fd >= 0) ::close(fd);
  }
  bool ok() const { return ok_; }
  int rd() const { return fd_[0]; }
  int wr() const { return fd_[1]; }
  // Reads exactly n bytes out of the pipe into dest (they are all there); the count read.
  size_t ReadInto(char* dest, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t k = ::read(fd_[0], dest + got, n - got);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got += static_cast<size_t>(k);
    }
    return got;
  }
  void DrainLeftover() {
    int left = 0;
    if (::ioctl(fd_[0], FIONREAD, &left) == 0 && left > 0) Drain();
  }
  // Empties the pipe (bytes of a read that failed half-way, or a reply that was not sent).
  void Drain() {
    char scrap[64 << 10];
    while (::read(fd_[0], scrap, sizeof scrap) > 0) {
    }
  }

 private:
  int fd_[2] = {-1, -1};
  bool ok_ = false;
};

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  M(req).reads.fetch_add(1, std::memory_order_relaxed);
  M(req).read_bytes.fetch_add(size, std::memory_order_relaxed);
  FsMetrics& rec = Rec(req);  // req is gone once replied to
  rec.Op(FuseOp::kRead);
  Guard(req, [&] {
    std::shared_ptr<const void> hold;
    if (auto span = FS(req).ReadSpan(fi->fh, static_cast<uint64_t>(off), size, &hold)) {
      // Bytes in a local file (local reads): libfuse splices them file -> pipe -> /dev/fuse,
      // one copy less than read + reply, where the pipe can hold the reply (else it copies).
      fuse_bufvec bv = FUSE_BUFVEC_INIT(span->length);
      bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      bv.buf[0].fd = span->fd;
      bv.buf[0].pos = static_cast<off_t>(span->pos);
      rec.read_bytes.Add(span->length);
      fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
      return;
    }
    // One buffer per loop thread, reused: no allocation (and page faults) per read.
    thread_local std::vector<char> buf;
    if (buf.size() < size) buf.resize(size);
    size_t have = 0;  // bytes of this read already in buf (moved out of a full pipe)
    thread_local ReadPipe pipe;
    if (pipe.ok() && M(req).splice_replies.load(std::memory_order_relaxed)) {
      pipe.DrainLeftover();  // never send bytes an earlier read left behind (e.g. a throw)
      // Bytes of an open range GET: socket -> pipe -> /dev/fuse, no copy through memory.
      auto k = FS(req).ReadToPipe(fi->fh, static_cast<uint64_t>(off), size, pipe.wr());
      if (k.ok() && k->has_value() && !(*k)->pipe_full) {
        if ((*k)->bytes == 0) {
          fuse_reply_buf(req, nullptr, 0);
          return;
        }
        fuse_bufvec bv = FUSE_BUFVEC_INIT((*k)->bytes);
        bv.buf[0].flags = FUSE_BUF_IS_FD;
        bv.buf[0].fd = pipe.rd();
        rec.read_bytes.Add((*k)->bytes);
        fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
        pipe.DrainLeftover();  // a reply that failed or was refused took not all of it
        return;
      }
      if (k.ok() && k->has_value()) {
        // The pipe filled up (small socket fragments take a slot each): take its bytes into
        // the buffer; the stream goes on from there below.
        have = pipe.ReadInto(buf.data(), (*k)->bytes);
        if (have != (*k)->bytes) return ReplyError(req, Status::IOError("read from own pipe"));
      } else if (!k.ok()) {
        pipe.Drain();  // the stream broke: the path below reads it again
      }
    }
    const char* view = nullptr;
    auto r = FS(req).ReadView(fi->fh, static_cast<uint64_t>(off) + have, size - have,
                              buf.data() + have, &view, &hold);
    if (!r.ok()) return ReplyError(req, r.status());
    rec.read_bytes.Add(have + *r);
    if (have == 0) return (void)fuse_reply_buf(req, view, *r);
    if (view != buf.data() + have) std::memcpy(buf.data() + have, view, *r);
    fuse_reply_buf(req, buf.data(), have + *r);
  });
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info* fi) {
  Rec(req).Op(FuseOp::kWrite);
  Guard(req, [&] {
    auto r = FS(req).Write(fi->fh, static_cast<uint64_t>(off), data, size);
    if (!r.ok()) return ReplyError(req, r.status());
    Rec(req).written_bytes.Add(*r);
    fuse_reply_write(req, *r);
  });
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    Status st = FS(req).Flush(fi->fh);
    if (!st.ok()) return ReplyError(req, st);
    fuse_reply_err(req, 0);
  });
}

void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  Guard(req, [&] {
    Status st = FS(req).Flush(fi->fh);  // a PUT is acknowledged only once fsynced on the target
    if (!st.ok()) return ReplyError(req, st);
    fuse_reply_err(req, 0);
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    Status st = FS(req).Release(fi->fh);
    ReplyStatus(req, st);
  });
}

void OpStatFs(fuse_req_t req, fuse_ino_t) {
  Guard(req, [&] {
    struct statvfs s {};
    s.f_bsize = 1 << 20;
    s.f_frsize = 1 << 20;
    s.f_blocks = s.f_bfree = s.f_bavail = 1ull << 30;  // an object store has no fixed size
    s.f_files = s.f_ffree = s.f_favail = 1ull << 40;
    s.f_namemax = 255;
    fuse_reply_statfs(req, &s);
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.setattr = OpSetAttr;
  ops.opendir = OpOpenDir;
  ops.readdir = OpReadDir;
  ops.readdirplus = OpReadDirPlus;
  ops.releasedir = OpReleaseDir;
  ops.mkdir = OpMkDir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmDir;
  ops.rename = OpRename;
  ops.open = OpOpen;
  ops.create = OpCreate;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  ops.release = OpRelease;
  ops.statfs = OpStatFs;
  return ops;
}

}  // namespace

int RunFuse(const MountConfig& cfg, MakeFilesystem make_fs, void* ctx) {
  std::vector<std::string> argv_s = {"aisle-fs"};
  std::string o = "fsname=aisle:" + cfg.endpoint +
                  (cfg.fs.bucket.empty() ? "" : "/" + cfg.fs.bucket) +
                  ",subtype=aisle,default_permissions";
  if (cfg.allow_other) o += ",allow_other";
  if (cfg.fs.read_only) o += ",ro";
  argv_s.push_back("-o");
  argv_s.push_back(o);
  if (cfg.debug) argv_s.push_back("-d");
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops = MakeOps();
  Mount mount;
  mount.mountpoint = cfg.mountpoint;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &mount);
  if (se == nullptr) {
    fuse_opt_free_args(&args);
    return 1;
  }
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, cfg.mountpoint.c_str()) == 0) {
      if (cfg.foreground || fuse_daemonize(0) == 0) {
        Filesystem* fs = make_fs(ctx);
        if (fs != nullptr) {
          mount.fs = fs;
          fuse_loop_config* lc = fuse_loop_cfg_create();
          fuse_loop_cfg_set_max_threads(lc, 64);
          fuse_loop_cfg_set_idle_threads(lc, 16);
          fuse_loop_cfg_set_clone_fd(lc, 0);
          int lr = fuse_session_loop_mt(se, lc);
          rc = lr < 0 ? 1 : 0;  // a signal-driven exit is a clean exit
          fuse_loop_cfg_destroy(lc);
          spdlog::info("aisle-fs: unmounting {} ({} reads, {} bytes asked)", cfg.mountpoint,
                       mount.reads.load(), mount.read_bytes.load());
        }
      }
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);
  return rc;
}

}  // namespace aisle::fs
