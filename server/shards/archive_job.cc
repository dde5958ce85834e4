#include "server/shards/archive_job.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "common/archive/shard_writer.h"
#include "common/name_template.h"
#include "common/names.h"
#include "server/storage/file_util.h"

namespace aisle::shards {
namespace {

const nlohmann::json* Key(const nlohmann::json& o, const char* k) {
  if (!o.is_object()) return nullptr;
  for (auto it = o.begin(); it != o.end(); ++it)
    if (::strcasecmp(it.key().c_str(), k) == 0) return &it.value();
  return nullptr;
}

bool Bool(const nlohmann::json& o, const char* k) {
  const auto* v = Key(o, k);
  return v && v->is_boolean() && v->get<bool>();
}

std::string Str(const nlohmann::json& o, const char* k) {
  const auto* v = Key(o, k);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// A BodyReader over [0, size) of an fd.
class FdReader : public BodyReader {
 public:
  FdReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= size_) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, size_ - pos_));
    AISLE_ASSIGN_OR_RETURN(size_t k, storage::PreadUpTo(fd_, buf, want, pos_, "spool"));
    if (k == 0) return Status::IOError("spool file shrank");
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> DeclaredLength() const override { return size_; }

 private:
  int fd_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// One shard being written: a writer into a spool file.
struct OpenShardOut {
  storage::FileHandle spool;
  uint64_t off = 0;
  std::unique_ptr<archive::ShardWriter> writer;
  size_t members = 0;
};

Result<std::unique_ptr<OpenShardOut>> NewShard(storage::Store* store, archive::Format f) {
  auto out = std::make_unique<OpenShardOut>();
  AISLE_ASSIGN_OR_RETURN(out->spool, store->OpenSpool());
  OpenShardOut* raw = out.get();
  AISLE_ASSIGN_OR_RETURN(out->writer, archive::ShardWriter::Open(f, [raw](std::string_view b) {
                           AISLE_RETURN_IF_ERROR(storage::PwriteAll(raw->spool.get(), b.data(),
                                                                    b.size(), raw->off, "spool"));
                           raw->off += b.size();
                           return Status::OK();
                         }));
  return out;
}

Status CommitShard(const ArchiveIo& io, OpenShardOut& s, const std::string& name, bool append,
                   jobs::Job& job) {
  AISLE_RETURN_IF_ERROR(s.writer->Finish());
  if (append) {
    AISLE_ASSIGN_OR_RETURN(std::string mode, io.append_shard(name, s.spool.get(), s.off));
    job.Count("shards-" + mode);  // ext stats: how aate wrote it (create / inplace / rewrite)
  } else {
    AISLE_RETURN_IF_ERROR(io.put_shard(name, s.spool.get(), s.off));
  }
  job.AddOutput(1, s.off);
  return Status::OK();
}

}  // namespace

Result<ArchiveSpec> ParseArchiveMsg(const std::string& value_json, std::string_view src) {
  nlohmann::json v = nlohmann::json::parse(value_json, nullptr, false);
  if (v.is_discarded() || !v.is_object())
    return Status::InvalidArgument("archive: \"value\" must be a JSON object (ArchiveBckMsg)");
  ArchiveSpec s;
  s.src_bucket = std::string(src);
  s.dst_bucket = s.src_bucket;
  if (const auto* to = Key(v, "tobck"); to && to->is_object()) {
    std::string n = Str(*to, "name");
    std::string prov = Str(*to, "provider");
    if (!prov.empty() && prov != "ais")
      return Status::Unsupported("archive: destination provider \"" + prov + "\" is not supported");
    if (!n.empty()) s.dst_bucket = n;
  }
  AISLE_RETURN_IF_ERROR(ValidateBucketName(s.dst_bucket));
  s.archname = Str(v, "archname");
  if (s.archname.empty()) return Status::InvalidArgument("archive: \"archname\" is required");
  AISLE_RETURN_IF_ERROR(ValidateObjectName(s.archname));
  std::string mime = Str(v, "mime");
  s.format = mime.empty() ? archive::FormatFromName(s.archname) : archive::FormatFromMime(mime);
  if (s.format == archive::Format::kUnknown)
    return Status::InvalidArgument("archive: \"" + s.archname +
                                   "\" has no supported extension (.tar, .tgz, .tar.gz, .zip, "
                                   ".tar.lz4, .tar.zst)");
  if (const auto* names = Key(v, "objnames"); names && names->is_array()) {
    for (const auto& n : *names) {
      if (!n.is_string()) return Status::InvalidArgument("archive: objnames must be strings");
      s.objnames.push_back(n.get<std::string>());
    }
  }
  s.templ = Str(v, "template");
  s.prefix = Str(v, "prefix");
  if (!s.objnames.empty() && !s.templ.empty())
    return Status::InvalidArgument("archive: objnames and template are mutually exclusive");
  s.base_name_only = Bool(v, "bnonly");
  s.include_src_bucket = Bool(v, "isbn");
  s.continue_on_error = Bool(v, "coer");
  s.append_if_exists = Bool(v, "aate");
  if (const auto* m = Key(v, "max_shard_size")) {
    if (m->is_number_unsigned())
      s.max_shard_size = m->get<uint64_t>();
    else if (m->is_string()) {
      try {
        s.max_shard_size = std::stoull(m->get<std::string>());
      } catch (...) {
        return Status::InvalidArgument("archive: bad max_shard_size");
      }
    } else if (!m->is_null())
      return Status::InvalidArgument("archive: bad max_shard_size");
  }
  // aate names one shard; appending to a numbered series has no clear meaning.
  if (s.append_if_exists && s.max_shard_size)
    return Status::InvalidArgument(
        "archive: append-if-exists (aate) cannot be combined with max_shard_size");
  if (!s.templ.empty()) AISLE_RETURN_IF_ERROR(ParseNameTemplate(s.templ).status());
  return s;
}

std::string ShardName(const ArchiveSpec& spec, size_t i) {
  if (spec.max_shard_size == 0) return spec.archname;
  // Keep the caller's spelling of the extension (".tar.gz" vs ".tgz").
  std::string ext(archive::ShardExtension(spec.archname));
  std::string stem = spec.archname.substr(0, spec.archname.size() - ext.size());
  char num[16];
  std::snprintf(num, sizeof num, "-%04zu", i);
  return stem + num + ext;
}

namespace {

// True for names this job writes (archname, or archname-NNNN.ext when splitting), so a
// whole-bucket archive into the same bucket does not pack its own output.
bool IsOwnOutput(const ArchiveSpec& spec, const std::string& name) {
  if (spec.src_bucket != spec.dst_bucket) return false;
  if (name == spec.archname) return true;
  if (!spec.max_shard_size) return false;
  std::string s0 = ShardName(spec, 0);
  size_t pos = s0.rfind("-0000");
  if (pos == std::string::npos || name.size() != s0.size()) return false;
  return name.compare(0, pos, s0, 0, pos) == 0 &&
         name.compare(pos + 5, std::string::npos, s0, pos + 5) == 0;
}

}  // namespace

ArchiveIo LocalArchiveIo(storage::Store* store, const ArchiveSpec& spec) {
  ArchiveIo io;
  std::string src = spec.src_bucket, dst = spec.dst_bucket;
  io.list = [store, src](const std::string& prefix) -> Result<std::vector<std::string>> {
    std::vector<std::string> names;
    storage::ListOptions lo;
    lo.prefix = prefix;
    lo.page_size = 10000;
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(storage::ListPage page, store->List(src, lo));
      for (auto& e : page.entries) names.push_back(std::move(e.name));
      if (page.next_token.empty()) break;
      lo.start_after = page.next_token;
    }
    return names;
  };
  io.open = [store, src](const std::string& name) -> Result<SourceObject> {
    AISLE_ASSIGN_OR_RETURN(storage::ObjectReader r, store->Get(src, name));
    SourceObject o;
    o.file = std::move(r.file);
    o.offset = r.data_offset;
    o.size = r.meta.size;
    o.mtime_s = r.meta.mtime_ns / 1000000000;
    return o;
  };
  io.put_shard = [store, dst](const std::string& name, int fd, uint64_t size) -> Status {
    FdReader body(fd, size);
    return store->Put(dst, name, body, storage::PutOptions{}).status();
  };
  return io;
}

Status RunArchiveJob(storage::Store* store, const ArchiveSpec& spec, jobs::Job& job) {
  return RunArchiveJob(store, spec, LocalArchiveIo(store, spec), job);
}

Status RunArchiveJob(storage::Store* store, const ArchiveSpec& spec, const ArchiveIo& io,
                     jobs::Job& job) {
  AISLE_RETURN_IF_ERROR(store->HeadBucket(spec.src_bucket).status());
  AISLE_RETURN_IF_ERROR(store->HeadBucket(spec.dst_bucket).status());
  if (spec.append_if_exists && !io.append_shard)
    return Status::Unsupported("archive: append-if-exists (aate) needs a node's shard appender");
  // The source names: a list, a template or a listing (minus our own output). A template
  // without a range is a prefix, as in AIStore.
  std::vector<std::string> names = spec.objnames;
  std::string prefix = spec.prefix;
  if (!spec.templ.empty()) {
    AISLE_ASSIGN_OR_RETURN(NameTemplate t, ParseNameTemplate(spec.templ));
    if (t.IsPrefixOnly())
      prefix = t.prefix;
    else
      t.ForEach([&](const std::string& n) {
        names.push_back(n);
        return true;
      });
  }
  if (names.empty()) {
    AISLE_ASSIGN_OR_RETURN(std::vector<std::string> listed, io.list(prefix));
    if (job.aborted()) return Status::OK();
    for (auto& n : listed)
      if (!IsOwnOutput(spec, n)) names.push_back(std::move(n));
  }
  if (names.empty()) return Status::NotFound("archive: no source objects matched");
  job.SetTotal(names.size());

  std::unique_ptr<OpenShardOut> cur;
  size_t shard_no = 0;
  for (const std::string& name : names) {
    if (job.aborted()) return Status::OK();
    auto obj = io.open(name);
    if (!obj.ok()) {
      if (spec.continue_on_error) {
        job.NoteError(obj.status().message());
        continue;
      }
      return obj.status().WithContext("archive");
    }
    uint64_t size = obj->size;
    if (cur && spec.max_shard_size && cur->members > 0 &&
        cur->off + size + 1024 > spec.max_shard_size) {
      AISLE_RETURN_IF_ERROR(
          CommitShard(io, *cur, ShardName(spec, shard_no++), spec.append_if_exists, job));
      cur.reset();
    }
    if (!cur) {
      AISLE_ASSIGN_OR_RETURN(cur, NewShard(store, spec.format));
    }
    std::string member = name;
    if (spec.base_name_only && member.rfind('/') != std::string::npos)
      member = member.substr(member.rfind('/') + 1);
    if (spec.include_src_bucket) member = spec.src_bucket + "/" + member;
    uint64_t pos = 0;
    int fd = obj->file->get();
    uint64_t base = obj->offset;
    Status st = cur->writer->Add(
        member, size, 0644, obj->mtime_s, [&](char* buf, size_t n) -> Result<size_t> {
          size_t want = static_cast<size_t>(std::min<uint64_t>(n, size - pos));
          AISLE_ASSIGN_OR_RETURN(size_t k, storage::PreadUpTo(fd, buf, want, base + pos, name));
          pos += k;
          return k;
        });
    if (!st.ok()) return st.WithContext("archive " + storage::ObjectCname(spec.src_bucket, name));
    ++cur->members;
    job.AddInput(1, size);
  }
  if (cur && cur->members > 0)
    AISLE_RETURN_IF_ERROR(
        CommitShard(io, *cur, ShardName(spec, shard_no), spec.append_if_exists, job));
  return Status::OK();
}

}  // namespace aisle::shards
