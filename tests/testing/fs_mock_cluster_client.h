// MockClusterClient: an in-memory cluster for fs/core unit tests. Counts calls per op,
// records the largest range read, serves shard members for objects given members, and can
// fail the next N calls with a chosen Status. Range streams serve the same bytes and can be
// made to break after a number of reads.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/archive/tar_header.h"
#include "fs/client/cluster_client.h"
#include "fs/core/path_scheme.h"

namespace aisle::fs {

class MockClusterClient : public ClusterClient {
  // A RangeStream over the mock's bytes (not through GetRange, so get_calls stay apart).
  class Stream : public RangeStream {
   public:
    Stream(MockClusterClient& c, ObjectRef ref, uint64_t pos, uint64_t end)
        : c_(c), ref_(std::move(ref)), pos_(pos), end_(end), left_(c.break_streams_after) {}
    Result<uint64_t> Read(char* dest, uint64_t n) override {
      ++c_.stream_reads;
      if (left_ == 0) return Status::Unavailable("stream broke");
      if (left_ > 0) --left_;
      AISLE_ASSIGN_OR_RETURN(std::string got, c_.Slice(ref_, pos_, std::min(n, end_ - pos_)));
      std::memcpy(dest, got.data(), got.size());
      pos_ += got.size();
      return static_cast<uint64_t>(got.size());
    }
    // Splices by writing what Read would have received (the pipe has room for it).
    Result<uint64_t> SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full) override {
      *pipe_full = c_.pipe_room > 0 && n > static_cast<uint64_t>(c_.pipe_room);
      if (*pipe_full) n = static_cast<uint64_t>(c_.pipe_room);
      ++c_.stream_splices;
      std::string buf(n, '\0');
      AISLE_ASSIGN_OR_RETURN(uint64_t got, Read(buf.data(), n));
      if (got > 0 && ::write(pipe_wr, buf.data(), got) != static_cast<ssize_t>(got))
        return Status::IOError("pipe write");
      return got;
    }

   private:
    MockClusterClient& c_;
    ObjectRef ref_;
    uint64_t pos_, end_;
    int left_;
  };

  // A LocalObject over a snapshot of the object's bytes at open (as a target's file is).
  class Local : public LocalObject {
   public:
    Local(MockClusterClient& c, std::string data, std::string version)
        : c_(c),
          data_(std::move(data)),
          version_(std::move(version)),
          left_(c.break_local_after.load()) {}
    Result<uint64_t> ReadAt(uint64_t off, uint64_t n, char* dest) override {
      ++c_.local_reads;
      if (left_.fetch_sub(1) == 0) return Status::IOError("local read failed");
      if (off >= data_.size()) return uint64_t{0};
      n = std::min<uint64_t>(n, data_.size() - off);
      std::memcpy(dest, data_.data() + off, n);
      return n;
    }
    uint64_t size() const override { return data_.size(); }
    const std::string& version() const override { return version_; }

   private:
    MockClusterClient& c_;
    std::string data_, version_;
    std::atomic<int> left_;
  };

 public:
  struct Obj {
    std::string data;
    std::string version = "1";
    std::map<std::string, std::string> members;  // for shards
  };

  void AddBucket(const std::string& b) {
    std::lock_guard lk(mu_);
    buckets_[b];
  }
  void AddObject(const std::string& b, const std::string& name, std::string data) {
    std::lock_guard lk(mu_);
    auto& o = buckets_[b][name];
    o.data = std::move(data);
    o.version = std::to_string(++version_);
  }
  void AddMember(const std::string& b, const std::string& shard, const std::string& member,
                 std::string data) {
    std::lock_guard lk(mu_);
    buckets_[b][shard].members[member] = std::move(data);
  }
  bool Has(const std::string& b, const std::string& name) {
    std::lock_guard lk(mu_);
    return buckets_[b].count(name) > 0;
  }
  std::string Data(const std::string& b, const std::string& name) {
    std::lock_guard lk(mu_);
    return buckets_[b][name].data;
  }
  void FailNext(int n, Status st) {
    std::lock_guard lk(mu_);
    fail_left_ = n;
    fail_status_ = std::move(st);
  }

  std::atomic<int> list_calls{0}, head_calls{0}, get_calls{0}, put_calls{0}, delete_calls{0},
      rename_calls{0};
  std::atomic<uint64_t> max_get_len{0};
  std::atomic<int> open_range_calls{0}, stream_reads{0}, stream_splices{0};
  std::atomic<int> pipe_room{0};             // > 0: a splice moves at most this much (a full pipe)
  std::atomic<int> break_streams_after{-1};  // reads each stream serves before it breaks
  std::atomic<bool> streams_unsupported{false};  // OpenRange answers kUnsupported
  std::atomic<int> streamed_puts{0};
  std::atomic<bool> local_objects{false};  // OpenLocal serves objects (else kUnsupported)
  std::atomic<int> local_opens{0}, local_reads{0};
  std::atomic<int> break_local_after{-1};  // reads each local object serves before failing
  std::string last_archpath, last_etl;
  std::atomic<int> batch_calls{0}, batch_entries{0};
  std::atomic<bool> batches_unsupported{false};
  uint32_t max_page = 10000;

  Result<std::vector<std::string>> ListBuckets() override {
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    std::vector<std::string> out;
    for (auto& [b, _] : buckets_) out.push_back(b);
    return out;
  }
  Result<std::vector<std::string>> ListEtls() override {
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    return etls_;
  }
  void AddEtl(const std::string& name) {
    std::lock_guard lk(mu_);
    etls_.push_back(name);
  }
  Status CreateBucket(const std::string& b) override {
    std::lock_guard lk(mu_);
    if (buckets_.count(b)) return Status::AlreadyExists(b);
    buckets_[b];
    return Status::OK();
  }
  Result<ListPage> List(const ListRequest& req) override {
    ++list_calls;
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    auto bit = buckets_.find(req.bucket);
    if (bit == buckets_.end()) return Status::NotFound("bucket " + req.bucket);
    // Flatten (objects, and with `archive` also "<shard>/<member>") in name order.
    std::map<std::string, std::pair<uint64_t, std::string>> all;
    for (auto& [n, o] : bit->second) {
      all[n] = {o.data.size(), o.version};
      if (req.archive) {
        for (auto& [m, d] : o.members) all[n + "/" + m] = {d.size(), o.version};
      }
    }
    std::string after = std::max(req.token, req.start_after);
    ListPage page;
    uint32_t limit = std::min(req.page_size == 0 ? 10000u : req.page_size, max_page);
    for (auto it = after.empty() ? all.begin() : all.upper_bound(after); it != all.end(); ++it) {
      if (it->first.compare(0, req.prefix.size(), req.prefix) != 0) {
        if (it->first > req.prefix) break;
        continue;
      }
      if (page.entries.size() == limit) {
        page.next_token = page.entries.back().name;
        break;
      }
      page.entries.push_back(
          {it->first, it->second.first, 1700000000ll * 1000000000, it->second.second});
    }
    return page;
  }
  Result<ObjectHead> Head(const std::string& b, const std::string& o) override {
    ++head_calls;
    std::lock_guard lk(mu_);
    auto* obj = Find(b, o);
    if (!obj) return Status::NotFound(o);
    return ObjectHead{obj->data.size(), 0, obj->version};
  }
  Result<uint64_t> GetRange(const ObjectRef& ref, uint64_t off, uint64_t len,
                            const DataSink& sink) override {
    ++get_calls;
    uint64_t cur = max_get_len;
    while (len > cur && !max_get_len.compare_exchange_weak(cur, len)) {
    }
    AISLE_ASSIGN_OR_RETURN(std::string data, Slice(ref, off, len));
    AISLE_RETURN_IF_ERROR(sink(data));
    return static_cast<uint64_t>(data.size());
  }
  Result<std::unique_ptr<RangeStream>> OpenRange(const ObjectRef& ref, uint64_t off,
                                                 uint64_t len) override {
    ++open_range_calls;
    if (streams_unsupported) return Status::Unsupported("no streams");
    {
      std::lock_guard lk(mu_);
      if (auto st = Fail(); !st.ok()) return st;
    }
    return std::unique_ptr<RangeStream>(new Stream(*this, ref, off, off + len));
  }
  Result<std::unique_ptr<LocalObject>> OpenLocal(const std::string& b,
                                                 const std::string& o) override {
    if (!local_objects) return Status::Unsupported("no local reads");
    ++local_opens;
    std::lock_guard lk(mu_);
    auto* obj = Find(b, o);
    if (!obj) return Status::NotFound(o);
    return std::unique_ptr<LocalObject>(new Local(*this, obj->data, obj->version));
  }
  Result<ObjectHead> Put(const std::string& b, const std::string& o, const PutBody& body) override {
    ++put_calls;
    std::string data;
    if (body.reader != nullptr) {
      ++streamed_puts;
      char buf[4096];
      for (;;) {
        auto n = body.reader->Read(buf, sizeof buf);
        if (!n.ok()) return n.status();  // aborted: nothing stored
        if (*n == 0) break;
        data.append(buf, *n);
      }
    } else if (!body.file_path.empty()) {
      std::ifstream f(body.file_path, std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(f), {});
    } else {
      data = std::string(body.data);
    }
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    if (!buckets_.count(b)) return Status::NotFound("bucket " + b);
    auto& obj = buckets_[b][o];
    obj.data = std::move(data);
    obj.version = std::to_string(++version_);
    return ObjectHead{obj.data.size(), 0, obj.version};
  }
  Result<ObjectHead> AppendMember(const std::string& b, const std::string& shard,
                                  const std::string& member, const PutBody& body) override {
    std::string data(body.data);
    if (!body.file_path.empty()) {
      std::ifstream f(body.file_path, std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(f), {});
    }
    std::lock_guard lk(mu_);
    auto* obj = Find(b, shard);
    if (!obj) return Status::NotFound(shard);
    if (obj->members.count(member)) return Status::Conflict(member + " exists");
    obj->members[member] = std::move(data);
    obj->version = std::to_string(++version_);
    return ObjectHead{0, 0, obj->version};
  }
  Status Delete(const std::string& b, const std::string& o) override {
    ++delete_calls;
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    if (!buckets_[b].erase(o)) return Status::NotFound(o);
    return Status::OK();
  }
  Status Rename(const std::string& b, const std::string& from, const std::string& to) override {
    ++rename_calls;
    std::lock_guard lk(mu_);
    auto& bk = buckets_[b];
    auto it = bk.find(from);
    if (it == bk.end()) return Status::NotFound(from);
    bk[to] = it->second;
    bk.erase(from);
    return Status::OK();
  }

 private:
  // Bytes [off, off+len) of an object or member (a transform upper-cases them).
  // GetBatch as a node answers it (a .tar in request order, missing entries as empty
  // "__404__/" members), delivered in 1000-byte chunks to exercise the caller's parser.
  Status GetBatch(const std::string& bucket, const std::vector<BatchItem>& items,
                  const DataSink& sink) override {
    if (batches_unsupported) return ClusterClient::GetBatch(bucket, items, sink);
    ++batch_calls;
    batch_entries += static_cast<int>(items.size());
    std::string tar;
    {
      std::lock_guard lk(mu_);
      for (const auto& it : items) {
        std::string name = it.archpath.empty() ? it.object : it.object + "/" + it.archpath;
        const std::string* src = nullptr;
        if (auto* obj = Find(bucket, it.object)) {
          if (it.archpath.empty()) {
            src = &obj->data;
          } else if (auto m = obj->members.find(it.archpath); m != obj->members.end()) {
            src = &m->second;
          }
        }
        std::string body = src ? *src : std::string();
        if (!src) name = std::string(kBatchMissingPrefix) + name;
        tar += archive::TarFileHeader(name, body.size(), 0644, 0);
        tar += body;
        tar.append(archive::TarPadding(body.size()), '\0');
      }
    }
    tar.append(archive::kTarEndBlocks, '\0');
    for (size_t pos = 0; pos < tar.size(); pos += 1000)
      AISLE_RETURN_IF_ERROR(sink(std::string_view(tar).substr(pos, 1000)));
    return Status::OK();
  }

  Result<std::string> Slice(const ObjectRef& ref, uint64_t off, uint64_t len) {
    std::lock_guard lk(mu_);
    if (auto st = Fail(); !st.ok()) return st;
    last_archpath = ref.archpath;
    last_etl = ref.etl_name;
    auto* obj = Find(ref.bucket, ref.object);
    if (!obj) return Status::NotFound(ref.object);
    const std::string* src = &obj->data;
    if (!ref.archpath.empty()) {
      auto m = obj->members.find(ref.archpath);
      if (m == obj->members.end()) return Status::NotFound(ref.archpath);
      src = &m->second;
    }
    if (off >= src->size()) return std::string();
    std::string data = src->substr(off, std::min<uint64_t>(len, src->size() - off));
    if (!ref.etl_name.empty()) std::transform(data.begin(), data.end(), data.begin(), ::toupper);
    return data;
  }
  Status Fail() {
    if (fail_left_ > 0) {
      --fail_left_;
      return fail_status_;
    }
    return Status::OK();
  }
  Obj* Find(const std::string& b, const std::string& o) {
    auto bit = buckets_.find(b);
    if (bit == buckets_.end()) return nullptr;
    auto it = bit->second.find(o);
    return it == bit->second.end() ? nullptr : &it->second;
  }
  std::mutex mu_;
  std::map<std::string, std::map<std::string, Obj>> buckets_;
  std::vector<std::string> etls_;
  uint64_t version_ = 0;
  int fail_left_ = 0;
  Status fail_status_;
};

}  // namespace aisle::fs
