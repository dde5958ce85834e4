#include "server/ml/moss_assembler.h"

#include <algorithm>

#include "common/archive/shard_writer.h"
#include "common/archive/source.h"
#include "common/clock.h"
#include "common/net/http_client.h"
#include "server/cluster/peer_client.h"
#include "server/cluster/target_cluster.h"
#include "server/etl/etl_handlers.h"
#include "server/shards/shard_cache.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"

namespace aisle::ml {

namespace {

constexpr uint32_t kMode = 0644;
constexpr size_t kChunk = 256 << 10;

// Bytes [off, off+len) of an object's file.
Result<std::string> ReadFileRange(int fd, uint64_t base, uint64_t len) {
  std::string out(len, '\0');
  for (uint64_t pos = 0; pos < len;) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(kChunk, len - pos));
    AISLE_ASSIGN_OR_RETURN(size_t got,
                           storage::PreadUpTo(fd, out.data() + pos, k, base + pos, "object"));
    if (got == 0) return Status::IOError("object: unexpected end of file");
    pos += got;
  }
  return out;
}

bool WholeEntry(const MossIn& in) { return in.start == 0 && in.length == 0; }

// Bytes [off, off+len) of a string as a member source.
archive::MemberSource StringSource(const std::string& s, uint64_t off, uint64_t len) {
  auto pos = std::make_shared<uint64_t>(0);
  return [&s, off, len, pos](char* buf, size_t n) -> Result<size_t> {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, len - *pos));
    std::copy_n(s.data() + off + *pos, k, buf);
    *pos += k;
    return k;
  };
}

}  // namespace

MossAssembler::MossAssembler(const api::ApiContext& ctx, const MossReq& req,
                             std::shared_ptr<etl::EtlInstance> etl)
    : ctx_(ctx),
      req_(req),
      etl_(std::move(etl)),
      owner_url_(req.in.size()),
      fetched_(req.in.size()) {
  if (ctx_.cluster) {
    auto smap = ctx_.cluster->smap();
    for (size_t i = 0; i < req_.in.size(); ++i) {
      const cluster::Node* owner = smap->Owner(req_.in[i].bucket, req_.in[i].objname);
      if (owner && owner->id != ctx_.node.id) {
        owner_url_[i] = owner->Url();
        remote_.push_back(i);
      }
    }
  }
  size_t n = std::min(kFetchers, remote_.size());
  for (size_t t = 0; t < n; ++t) threads_.emplace_back([this] { FetchLoop(); });
}

MossAssembler::~MossAssembler() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void MossAssembler::FetchLoop() {
  for (;;) {
    size_t i;
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (stop_ || next_remote_ >= remote_.size()) return;
      i = remote_[next_remote_++];
      // Stay within the window; the entry the writer waits for always goes ahead.
      cv_.wait(lk, [&] {
        return stop_ || (i < consumed_ + kWindow && (ahead_bytes_ < kBudget || i <= consumed_));
      });
      if (stop_) return;
    }
    Fetched f;
    f.st = Fetch(req_.in[i], owner_url_[i], &f);
    {
      std::lock_guard<std::mutex> lk(mu_);
      ahead_bytes_ += f.data.size();
      f.ready = true;
      fetched_[i] = std::move(f);
    }
    cv_.notify_all();
  }
}

Status MossAssembler::Fetch(const MossIn& in, const std::string& base, Fetched* f) {
  std::string* data = &f->data;
  HttpRequest r;
  r.method = "GET";
  r.url = cluster::ObjectUrl(base, in.bucket, in.objname);
  char sep = '?';
  if (!in.archpath.empty()) {
    r.url += "?archpath=" + EscapeComponent(in.archpath);
    sep = '&';
  }
  // The owner transforms whole entries (GET ?etl_name=, next to the data); a range is cut
  // here first, so it is transformed here.
  f->transformed = etl_ && WholeEntry(in);
  if (f->transformed) {
    r.url += sep + std::string("etl_name=") + EscapeComponent(req_.etl_name);
    if (!req_.etl_args.empty()) r.url += "&etl_args=" + EscapeComponent(req_.etl_args);
  }
  r.headers = {{cluster::kIntraHeader, ctx_.node.id}};
  r.max_retries = 2;
  r.on_body = [data](std::string_view b) {
    data->append(b);
    return Status::OK();
  };
  AISLE_ASSIGN_OR_RETURN(HttpResponse resp, ctx_.peers->Do(r));
  if (resp.status != 200) {
    data->clear();
    f->etl_failed = f->transformed && resp.status != 404;
    return cluster::StatusFromRemote(resp, NameInArchive(in, false));
  }
  return Status::OK();
}

Result<std::string> MossAssembler::WaitFetched(size_t i, bool* transformed, bool* etl_failed) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return fetched_[i].ready; });
  Fetched& f = fetched_[i];
  ahead_bytes_ -= f.data.size();
  f.ready = false;
  *transformed = f.transformed;
  *etl_failed = f.etl_failed;
  if (!f.st.ok()) return f.st;
  return std::move(f.data);
}

Status MossAssembler::Run(const archive::ByteSink& sink, std::vector<MossOut>* out) {
  AISLE_ASSIGN_OR_RETURN(auto writer, archive::ShardWriter::Open(req_.format, sink));
  const int64_t now_s = NowNs() / 1'000'000'000;
  for (size_t i = 0; i < req_.in.size(); ++i) {
    const MossIn& in = req_.in[i];
    std::string name = NameInArchive(in, req_.onob);
    MossOut o{in.objname, in.archpath, in.bucket, in.provider.empty() ? "ais" : in.provider,
              "",         in.opaque,   0};
    // One entry's bytes: a string (remote entries, members) or the object's file.
    std::string bytes;
    storage::ObjectReader obj;
    bool from_file = false, cut = false, transformed = false, etl_failed = false;
    int64_t mtime = now_s;
    Status st;
    if (!owner_url_[i].empty()) {
      auto r = WaitFetched(i, &transformed, &etl_failed);
      cut = transformed;  // the owner's output is the whole member
      if (r.ok()) bytes = std::move(r).value();
      st = r.status();
    } else if (in.archpath.empty()) {
      auto r = ctx_.store->Get(in.bucket, in.objname);
      if (r.ok()) {
        obj = std::move(r).value();
        mtime = obj.meta.mtime_ns / 1'000'000'000;
        if (!obj.small_data.empty() || obj.meta.size == 0) {
          bytes = std::move(obj.small_data);
        } else {
          from_file = true;
        }
      }
      st = r.status();
    } else {
      auto sh = ctx_.shards->Open(in.bucket, in.objname, archive::Format::kUnknown);
      const archive::Member* m = sh.ok() ? sh->index->Find(in.archpath) : nullptr;
      if (!sh.ok()) {
        st = sh.status();
      } else if (!m || m->type != archive::MemberType::kFile) {
        st = Status::NotFound(ctx_.node.Name() + ": " + NameInArchive(in, false) +
                              ": archived file does not exist");
      } else {
        mtime = m->mtime;
        auto rg = SelectRange(in, m->size);
        if (!rg.ok()) return rg.status();
        archive::FdSource src(sh->obj.file->get(), sh->obj.data_offset, sh->obj.meta.size);
        bytes.reserve(rg->second);
        st = archive::ReadMember(
            src, *sh->index, *m, rg->first, rg->second,
            [&](std::string_view b) {
              bytes.append(b);
              return Status::OK();
            },
            ctx_.shards->limits());
        cut = true;  // already the selected range
      }
    }
    if (st.ok() && etl_ && !transformed) {
      // The selected bytes through the ETL, as inline GET ?etl_name= runs it.
      std::pair<uint64_t, uint64_t> rg{0, from_file ? obj.meta.size : bytes.size()};
      if (!cut) {
        AISLE_ASSIGN_OR_RETURN(rg, SelectRange(in, rg.second));
      }
      if (from_file) {
        auto r = ReadFileRange(obj.file->get(), obj.data_offset + rg.first, rg.second);
        if (!r.ok()) return r.status();
        bytes = std::move(r).value();
        from_file = false;
      } else if (rg.first != 0 || rg.second != bytes.size()) {
        bytes = bytes.substr(rg.first, rg.second);
      }
      std::string tname = in.archpath.empty() ? in.objname : in.objname + "/" + in.archpath;
      auto t = api::InlineTransform(etl_, bytes, in.bucket, tname, req_.etl_args);
      if (t.ok()) {
        bytes = std::move(t).value();
      } else {
        bytes.clear();
        st = t.status();
        etl_failed = true;
      }
      cut = true;
    }
    if (!st.ok()) {
      bool skippable = st.code() == StatusCode::kNotFound || etl_failed;
      if (!skippable || !req_.coer) return st;
      // coer: an empty member in its place, the error in the metadata.
      AISLE_RETURN_IF_ERROR(writer->Add(std::string(kMissingDir) + "/" + name, 0, kMode, now_s,
                                        StringSource(bytes, 0, 0)));
      o.err_msg = st.message();
    } else {
      uint64_t size = from_file ? obj.meta.size : bytes.size();
      std::pair<uint64_t, uint64_t> rg{0, size};
      if (!cut) {
        AISLE_ASSIGN_OR_RETURN(rg, SelectRange(in, size));
      }
      o.size = rg.second;
      if (from_file) {
        int fd = obj.file->get();
        uint64_t base = obj.data_offset + rg.first, len = rg.second;
        auto pos = std::make_shared<uint64_t>(0);
        st = writer->Add(name, len, kMode, mtime,
                         [fd, base, len, pos](char* buf, size_t n) -> Result<size_t> {
                           size_t k = static_cast<size_t>(
                               std::min<uint64_t>(std::min<uint64_t>(n, kChunk), len - *pos));
                           if (k == 0) return size_t{0};
                           AISLE_ASSIGN_OR_RETURN(
                               size_t got, storage::PreadUpTo(fd, buf, k, base + *pos, "object"));
                           if (got == 0) return Status::IOError("object: unexpected end of file");
                           *pos += got;
                           return got;
                         });
      } else {
        st = writer->Add(name, rg.second, kMode, mtime, StringSource(bytes, rg.first, rg.second));
      }
      AISLE_RETURN_IF_ERROR(st);
    }
    if (out) out->push_back(std::move(o));
    std::lock_guard<std::mutex> lk(mu_);
    consumed_ = i + 1;
    cv_.notify_all();
  }
  return writer->Finish();
}

}  // namespace aisle::ml
