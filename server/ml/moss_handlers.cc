#include "server/ml/moss_handlers.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "etl/etl_manager.h"
#include "server/api/errors.h"
#include "server/api/target_routing.h"
#include "server/cluster/cluster_map.h"
#include "server/ml/moss_assembler.h"

namespace aisle::ml {

namespace {

constexpr size_t kPipeBytes = 4 << 20;  // streamed bytes queued ahead of the client, at most
constexpr size_t kCoalesce = 64 << 10;  // small writes are joined up to this size

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  for (char& c : s) c = kHex[rng() % 16];
  return s;
}

const char* ContentTypeOf(archive::Format f) {
  switch (f) {
    case archive::Format::kTgz: return "application/gzip";
    case archive::Format::kZip: return "application/zip";
    case archive::Format::kTarLz4: return "application/x-lz4";
    case archive::Format::kTarZst: return "application/zstd";
    default: return "application/x-tar";
  }
}

// Parses "moss[/BUCKET]" and the body; writes the error and returns nullopt on bad input.
std::optional<MossReq> ReadMossReq(api::Request& req, api::Response& resp,
                                   const api::NodeContext& node, std::string_view tail) {
  if (req.method != "GET") {
    api::WriteError(req, resp, 405, "get-batch: method " + req.method + " not allowed", node);
    return std::nullopt;
  }
  std::string bucket;
  if (tail != "moss") {
    if (tail.substr(0, 5) != "moss/") {
      api::WriteError(req, resp, 404, "invalid URL path \"" + req.path + "\"", node);
      return std::nullopt;
    }
    bucket = std::string(tail.substr(5));
    while (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
  }
  if (Status st = api::CheckBucketQuery(req); !st.ok()) {
    api::WriteError(req, resp, st, node);
    return std::nullopt;
  }
  auto body = req.ReadBody(kMaxRequestBody);
  if (!body.ok()) {
    api::WriteError(req, resp, body.status(), node);
    return std::nullopt;
  }
  auto parsed = ParseMossReq(*body, bucket);
  if (!parsed.ok()) {
    api::WriteError(req, resp, parsed.status(), node);
    return std::nullopt;
  }
  return std::move(parsed).value();
}

// The streamed archive: a producer thread runs the assembler into a bounded queue that the
// transport drains. Destroying the reader (client gone, response done) stops and joins it.
class MossStream : public BodyReader {
 public:
  MossStream(api::ApiContext ctx, MossReq req, std::shared_ptr<etl::EtlInstance> etl)
      : ctx_(std::move(ctx)), req_(std::move(req)), etl_(std::move(etl)) {
    thread_ = std::thread([this] { Produce(); });
  }
  ~MossStream() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      canceled_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Waits until the first kPipeBytes are queued or the archive is done; the error of a batch
  // that failed by then (nullopt otherwise) still gets a proper error response.
  Status WaitStart() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return done_ || bytes_ >= kPipeBytes; });
    return done_ ? status_ : Status::OK();
  }

  Result<size_t> Read(char* buf, size_t n) override {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (!status_.ok()) return status_;
      return size_t{0};
    }
    std::string& front = queue_.front();
    size_t k = std::min(n, front.size() - front_off_);
    std::copy_n(front.data() + front_off_, k, buf);
    front_off_ += k;
    bytes_ -= k;
    if (front_off_ == front.size()) {
      queue_.pop_front();
      front_off_ = 0;
    }
    cv_.notify_all();
    return k;
  }

  std::optional<uint64_t> DeclaredLength() const override {
    std::lock_guard<std::mutex> lk(mu_);
    if (done_ && status_.ok()) return total_;
    return std::nullopt;
  }

 private:
  void Produce() {
    Status st;
    {
      MossAssembler asm_(ctx_, req_, etl_);
      st = asm_.Run(
          [this](std::string_view b) -> Status {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return canceled_ || bytes_ < kPipeBytes; });
            if (canceled_) return Status::Unavailable("get-batch: the client went away");
            if (!queue_.empty() && queue_.back().size() < kCoalesce)
              queue_.back().append(b);
            else
              queue_.emplace_back(b);
            bytes_ += b.size();
            total_ += b.size();
            cv_.notify_all();
            return Status::OK();
          },
          nullptr);
    }
    std::lock_guard<std::mutex> lk(mu_);
    status_ = std::move(st);
    done_ = true;
    cv_.notify_all();
  }

  api::ApiContext ctx_;
  MossReq req_;
  std::shared_ptr<etl::EtlInstance> etl_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t front_off_ = 0;
  size_t bytes_ = 0;
  uint64_t total_ = 0;
  bool done_ = false, canceled_ = false;
  Status status_;
  std::thread thread_;
};

// Go's mime/multipart layout (what the SDK's decoder expects): the JSON metadata part, then
// the archive part.
std::string Multipart(const std::string& boundary, const std::string& meta,
                      const std::string& archive, const std::string& filename) {
  std::string s;
  s.reserve(meta.size() + archive.size() + 512);
  s += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n";
  s += meta;
  s += "\n\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"";
  s += filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  s += archive;
  s += "\r\n--" + boundary + "--\r\n";
  return s;
}

// The running ETL that etl_name names (null when none): unknown → 404, stopped → 503, as inline
// GET ?etl_name= answers; programs that pull the object themselves (hpull, hrev) cannot take a
// range or a shard member → 400.
Result<std::shared_ptr<etl::EtlInstance>> AcquireEtl(api::ApiContext& ctx, const MossReq& r) {
  if (r.etl_name.empty()) return std::shared_ptr<etl::EtlInstance>();
  if (!ctx.etl) return Status::Unsupported("get-batch: this node runs no transforms");
  AISLE_ASSIGN_OR_RETURN(auto inst, ctx.etl->Acquire(r.etl_name));
  if (inst->transformer().PullsData())
    return Status::InvalidArgument("get-batch: etl " + r.etl_name + " (communication " +
                                   std::string(etl::CommName(inst->spec().comm)) +
                                   ") fetches objects itself; GetBatch needs an ETL that is "
                                   "sent the bytes (hpush, io, ws, python, built-in)");
  return inst;
}

}  // namespace

void HandleMoss(api::ApiContext& ctx, api::Request& req, api::Response& resp,
                std::string_view tail) {
  auto mreq = ReadMossReq(req, resp, ctx.node, tail);
  if (!mreq) return;
  auto etl = AcquireEtl(ctx, *mreq);
  if (!etl.ok()) return api::WriteError(req, resp, etl.status(), ctx.node);
  if (mreq->strm) {
    const char* type = ContentTypeOf(mreq->format);
    auto stream = std::make_shared<MossStream>(ctx, std::move(*mreq), std::move(etl).value());
    if (Status st = stream->WaitStart(); !st.ok()) return api::WriteError(req, resp, st, ctx.node);
    resp.headers.Set("Content-Type", type);
    resp.stream = std::move(stream);
    return;
  }
  std::string archive;
  bool over = false;
  std::vector<MossOut> out;
  Status st;
  {
    MossAssembler asm_(ctx, *mreq, *etl);
    st = asm_.Run(
        [&](std::string_view b) -> Status {
          if (archive.size() + b.size() > kBufferedCap) {
            over = true;
            return Status::TooLarge("get-batch: buffered archive over the cap");
          }
          archive.append(b);
          return Status::OK();
        },
        &out);
  }
  if (over) {
    return api::WriteError(req, resp, 429,
                           "get-batch: the buffered (strm=false) archive would exceed " +
                               std::to_string(kBufferedCap >> 20) +
                               " MiB; use streaming (strm=true) or a smaller batch",
                           ctx.node);
  }
  if (!st.ok()) return api::WriteError(req, resp, st, ctx.node);
  std::string uuid = RandomHex(10);
  std::string boundary = RandomHex(60);
  resp.headers.Set("Content-Type", "multipart/mixed; boundary=" + boundary);
  resp.body = Multipart(boundary, MossRespJson(uuid, out), archive,
                        "get-batch[" + uuid + "]" + ctx.node.Name());
}

void RouteMoss(const api::NodeContext& node, const cluster::Smap& smap, api::Request& req,
               api::Response& resp, std::string_view tail) {
  auto mreq = ReadMossReq(req, resp, node, tail);
  if (!mreq) return;
  auto targets = smap.ActiveTargets();
  if (targets.empty()) return api::WriteError(req, resp, 503, "no target is online", node);
  const cluster::Node* pick = nullptr;
  if (mreq->coloc >= 1) {
    // The owner of most entries assembles: the fewest bytes cross the cluster.
    std::map<const cluster::Node*, size_t> count;
    size_t best = 0;
    for (const MossIn& in : mreq->in) {
      const cluster::Node* o = smap.Owner(in.bucket, in.objname);
      if (o && ++count[o] > best) {
        best = count[o];
        pick = o;
      }
    }
  }
  if (!pick) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    pick = targets[rng() % targets.size()];
  }
  resp.status = 307;
  resp.headers.Set("Location", api::RedirectUrl(pick->Url(), req.target, node.id));
}

}  // namespace aisle::ml
