#include "server/storage/inplace_append.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/checksum.h"
#include "common/logging.h"
#include "server/storage/file_util.h"
#include "server/storage/record_codec.h"
#include "server/storage/work_dirs.h"

namespace aisle::storage::inplace {
namespace {

constexpr char kMagic[8] = {'A', 'I', 'S', 'L', 'U', 'N', 'D', '1'};
constexpr size_t kBuf = 1 << 20;

}  // namespace

// magic, rel_path, ino, old_len, tail_off, old_header, old_tail, XXH64 of all before.
std::string EncodeUndo(const UndoRecord& r) {
  std::string s(kMagic, sizeof kMagic);
  PutStr(&s, r.rel_path);
  Put64(&s, r.ino);
  Put64(&s, r.old_len);
  Put64(&s, r.tail_off);
  PutStr(&s, r.old_header);
  PutStr(&s, r.old_tail);
  Put64(&s, Xxh64(s));
  return s;
}

Result<UndoRecord> DecodeUndo(std::string_view data) {
  auto bad = [] { return Status::DataCorruption("torn or foreign undo record"); };
  if (data.size() < sizeof kMagic + 8 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return bad();
  uint64_t sum;
  std::memcpy(&sum, data.data() + data.size() - 8, 8);
  if (Xxh64(data.substr(0, data.size() - 8)) != sum) return bad();
  RecordReader in(data.substr(sizeof kMagic, data.size() - 8 - sizeof kMagic));
  UndoRecord r;
  if (!in.Str(&r.rel_path) || !in.U64(&r.ino) || !in.U64(&r.old_len) || !in.U64(&r.tail_off) ||
      !in.Str(&r.old_header) || !in.Str(&r.old_tail) || !in.AtEnd() ||
      r.tail_off + r.old_tail.size() != r.old_len || r.rel_path.find("..") != std::string::npos)
    return bad();
  return r;
}

Status RollBack(const std::string& mp_root, const UndoRecord& r) {
  std::string path = mp_root + "/" + r.rel_path;
  auto fh = OpenFile(path, O_RDWR);
  if (!fh.ok()) return fh.status().IsNotFound() ? Status::OK() : fh.status();  // deleted since
  struct stat st;
  if (::fstat(fh->get(), &st) != 0) return Status::FromErrno(errno, path);
  if (static_cast<uint64_t>(st.st_ino) != r.ino) return Status::OK();  // replaced since
  if (::ftruncate(fh->get(), static_cast<off_t>(r.old_len)) != 0)
    return Status::FromErrno(errno, "truncate " + path);
  AISLE_RETURN_IF_ERROR(
      PwriteAll(fh->get(), r.old_tail.data(), r.old_tail.size(), r.tail_off, path));
  AISLE_RETURN_IF_ERROR(PwriteAll(fh->get(), r.old_header.data(), r.old_header.size(), 0, path));
  return FsyncFile(fh->get(), path);
}

Status Recover(const std::string& mp_root) {
  std::string dir = UndoDir(mp_root);
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  if (names.empty()) return Status::OK();
  for (const std::string& n : names) {
    std::string path = dir + "/" + n;
    AISLE_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    auto rec = DecodeUndo(data);
    if (rec.ok()) {
      spdlog::warn("rolling back an interrupted in-place append of {}/{}", mp_root, rec->rel_path);
      // A failed rollback must not let the store start on a torn object: fail Open.
      AISLE_RETURN_IF_ERROR(RollBack(mp_root, *rec).WithContext("undo " + path));
    }
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink " + path);
  }
  return FsyncDir(dir);
}

Result<std::string> HashPrefix(int fd, uint64_t data_off, uint64_t n, const std::string& what) {
  Xxh64Stream h;
  std::unique_ptr<char[]> buf(new char[kBuf]);
  uint64_t off = data_off, left = n;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, kBuf));
    AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(fd, buf.get(), want, off, what));
    if (got == 0) return Status::DataCorruption(what + ": object shorter than its metadata");
    h.Update(buf.get(), got);
    off += got;
    left -= got;
  }
  return h.SaveState();
}

namespace {

// Writes the undo record durably (file and directory); on failure nothing is left behind.
Status WriteUndoRecord(const UndoRecord& undo, const std::string& dir,
                       const std::string& rec_path) {
  std::string rec = EncodeUndo(undo);
  AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(rec_path, O_CREAT | O_EXCL | O_WRONLY, 0600));
  Status st = WriteAll(fh.get(), rec.data(), rec.size(), rec_path);
  if (st.ok()) st = FsyncFile(fh.get(), rec_path);
  if (st.ok()) st = FsyncDir(dir);
  if (!st.ok()) {
    ::unlink(rec_path.c_str());  // the object is untouched
    return st;
  }
  return Status::OK();
}

// Copies the appended bytes from the body to the object file at the append point, hashing
// them into `h`; the state at snapshot_at goes to out->snapshot_state.
Status CopyTail(const WriteArgs& a, Xxh64Stream& h, WriteResult* out) {
  const std::string& what = a.undo.rel_path;
  std::unique_ptr<char[]> buf(new char[kBuf]);
  uint64_t done = 0;
  bool snapped = false;
  while (done < a.tail_len) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(a.tail_len - done, kBuf));
    Result<size_t> got = a.tail->Read(buf.get(), want);
    if (!got.ok()) return got.status();
    if (*got == 0) return Status::InvalidArgument(what + ": appended data ended early");
    uint64_t pos = a.data_at + done;  // data offset of buf[0]
    size_t split = 0;
    if (!snapped && a.snapshot_at >= pos && a.snapshot_at <= pos + *got) {
      split = static_cast<size_t>(a.snapshot_at - pos);
      h.Update(buf.get(), split);
      out->snapshot_state = h.SaveState();
      snapped = true;
    }
    h.Update(buf.get() + split, *got - split);
    if (Status st = PwriteAll(a.fd, buf.get(), *got, a.header_len + pos, what); !st.ok()) return st;
    done += *got;
  }
  if (!snapped) out->snapshot_state = h.SaveState();
  return Status::OK();
}

}  // namespace

Result<WriteResult> Write(const WriteArgs& a) {
  const std::string& what = a.undo.rel_path;
  std::string dir = UndoDir(a.mp_root);
  std::string rec_path = dir + "/" + RandomHex(16);
  Xxh64Stream h;
  if (!h.LoadState(a.prefix_state)) return Status::Internal("in-place append: bad hash state");
  AISLE_RETURN_IF_ERROR(WriteUndoRecord(a.undo, dir, rec_path));
  // From here on a failure rolls the object back (a simulated crash leaves it to Recover).
  bool touched = false;
  auto fail = [&](Status st, bool crash = false) -> Status {
    if (crash) return st;
    if (touched) {
      if (Status rb = RollBack(a.mp_root, a.undo); !rb.ok()) {
        spdlog::error(
            "in-place append of {}: rollback failed ({}); the undo record {} is kept "
            "for the next start",
            what, rb.ToString(), rec_path);
        return st;
      }
    }
    ::unlink(rec_path.c_str());
    (void)FsyncDir(dir);
    return st;
  };
  if (FaultResult f = a.fault("append.undo"); !f.ok()) return fail(f.status, f.crash);

  touched = true;
  WriteResult out;
  if (Status st = CopyTail(a, h, &out); !st.ok()) return fail(st);
  uint64_t new_len = a.header_len + a.data_at + a.tail_len;
  if (new_len < a.undo.old_len && ::ftruncate(a.fd, static_cast<off_t>(new_len)) != 0)
    return fail(Status::FromErrno(errno, "truncate " + what));
  if (FaultResult f = a.fault("append.tail"); !f.ok()) return fail(f.status, f.crash);

  out.xxhash = h.Digest();
  std::string header = a.encode_header(a.data_at + a.tail_len, out.xxhash);
  if (header.size() != a.header_len)
    return fail(Status::Internal(what + ": object header length changed"));
  if (Status st = PwriteAll(a.fd, header.data(), header.size(), 0, what); !st.ok()) return fail(st);
  if (FaultResult f = a.fault("append.header"); !f.ok()) return fail(f.status, f.crash);
  if (Status st = FsyncFile(a.fd, what); !st.ok()) return fail(st);
  if (FaultResult f = a.fault("append.commit"); !f.ok()) return fail(f.status, f.crash);

  // The record goes durably before the append is acknowledged: a record left behind would
  // roll back an acknowledged append at the next start.
  if (::unlink(rec_path.c_str()) != 0) return fail(Status::FromErrno(errno, "unlink " + rec_path));
  if (Status st = FsyncDir(dir); !st.ok()) {
    (void)RollBack(a.mp_root, a.undo);  // the record's removal may not be durable: undo here
    return st;
  }
  return out;
}

}  // namespace aisle::storage::inplace
