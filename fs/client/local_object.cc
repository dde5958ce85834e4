#include "fs/client/local_object.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/local_read_protocol.h"
#include "common/net/http_errors.h"

namespace aisle::fs {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// One connection to a target: `mu` serialises request/reply pairs; closes are sent without it
// (one packet each, never answered).
struct LocalReadClient::Conn {
  explicit Conn(int fd) : sock(fd) {}
  Fd sock;
  std::mutex mu;
  uint64_t next_id = 0;  // GUARDED_BY(mu): request ids, echoed by replies
  std::atomic<bool> broken{false};
};

namespace {

class LocalFile : public LocalObject {
 public:
  LocalFile(std::shared_ptr<LocalReadClient::Conn> conn, int file, const localread::OpenReply& r)
      : conn_(std::move(conn)),
        file_(file),
        handle_(r.handle),
        offset_(r.offset),
        size_(r.size),
        version_(r.version) {}
  ~LocalFile() override {
    if (!conn_->broken.load())
      (void)localread::SendMessage(conn_->sock.get(), localread::EncodeClose(handle_), -1);
  }

  Result<uint64_t> ReadAt(uint64_t offset, uint64_t n, char* dest) override {
    if (offset >= size_) return uint64_t{0};
    n = std::min(n, size_ - offset);
    uint64_t got = 0;
    while (got < n) {
      ssize_t k =
          ::pread(file_.get(), dest + got, n - got, static_cast<off_t>(offset_ + offset + got));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return Status::FromErrno(errno, "local read");
      if (k == 0) return Status::IOError("local read: the object's file ends early");
      got += static_cast<uint64_t>(k);
    }
    return got;
  }
  uint64_t size() const override { return size_; }
  const std::string& version() const override { return version_; }
  FileSpan Span(uint64_t offset, uint64_t n) const override {
    uint64_t len = offset >= size_ ? 0 : std::min(n, size_ - offset);
    return {file_.get(), offset_ + offset, len};
  }

 private:
  std::shared_ptr<LocalReadClient::Conn> conn_;  // where the handle is closed
  Fd file_;
  uint64_t handle_, offset_, size_;
  std::string version_;
};

}  // namespace

Result<std::shared_ptr<LocalReadClient::Conn>> LocalReadClient::Connect(
    const std::string& node_id) {
  auto conn = std::make_shared<Conn>(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  int s = conn->sock.get();
  if (s < 0) return Status::FromErrno(errno, "local-read socket");
  timeval tv{static_cast<time_t>(timeout_.count() / 1000),
             static_cast<suseconds_t>(timeout_.count() % 1000 * 1000)};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr;
  socklen_t len = localread::MakeAddress(node_id, &addr);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    std::string why = "local reads from target " + node_id + ": " + std::strerror(err);
    if (err == ECONNREFUSED || err == ENOENT) return Status::Unsupported(why);  // not here
    return Status::Unavailable(why);
  }
  // Abstract names carry no permissions: trust only a server of our own uid or root, as the
  // server trusts only such clients.
  ucred cred{};
  socklen_t cl = sizeof(cred);
  if (::getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
      (cred.uid != 0 && cred.uid != ::geteuid()))
    return Status::Unsupported("local-read socket of target " + node_id + " is served by uid " +
                               std::to_string(cred.uid));
  return conn;
}

Result<std::unique_ptr<LocalObject>> LocalReadClient::Open(const NodeRef& node,
                                                           const std::string& bucket,
                                                           const std::string& object) {
  // A kept connection may be stale (the target restarted): then once more on a new one.
  for (int attempt = 0;; ++attempt) {
    bool stale = false;
    auto r = OpenOnce(node, bucket, object, &stale);
    if (!stale || attempt > 0) return r;
  }
}

void LocalReadClient::Forget(const std::string& node_id, bool absent) {
  std::lock_guard lk(mu_);
  Target& t = targets_[node_id];
  for (auto& c : t.conns) c->broken = true;  // one went: the others are likely gone too
  t.conns.clear();  // closed once their last open ends, so the target lets their objects go
  if (absent) t.absent_until = std::chrono::steady_clock::now() + kAbsentFor;
}

Result<std::shared_ptr<LocalReadClient::Conn>> LocalReadClient::LeaseConn(
    const std::string& node_id, std::unique_lock<std::mutex>* held, bool* fresh) {
  std::shared_ptr<Conn> conn;
  {
    std::unique_lock lk(mu_);
    for (;;) {
      Target& t = targets_[node_id];
      if (std::chrono::steady_clock::now() < t.absent_until)
        return Status::Unsupported("no local reads from target " + node_id + " for now");
      std::erase_if(t.conns, [](const auto& c) { return c->broken.load(); });
      for (auto& c : t.conns) {
        std::unique_lock l(c->mu, std::try_to_lock);
        if (l.owns_lock()) {
          conn = c;
          *held = std::move(l);
          break;
        }
      }
      if (conn) break;
      if (t.conns.size() + t.connecting < kConnsPerTarget) {
        *fresh = true;
        ++t.connecting;
        break;
      }
      if (!t.conns.empty()) {
        conn = t.conns[t.next++ % t.conns.size()];  // all busy: wait for one
        break;
      }
      connected_.wait(lk);  // every slot is being connected: wait for one of them
    }
  }
  if (*fresh) {
    auto c = Connect(node_id);  // outside mu_: a full backlog must not hold other targets up
    std::lock_guard lk(mu_);
    Target& t = targets_[node_id];
    --t.connecting;
    connected_.notify_all();
    if (!c.ok()) {
      if (c.status().code() == StatusCode::kUnsupported)
        t.absent_until = std::chrono::steady_clock::now() + kAbsentFor;
      return c.status();
    }
    conn = *c;
    *held = std::unique_lock(conn->mu);
    t.conns.push_back(conn);
  } else if (!held->owns_lock()) {
    *held = std::unique_lock(conn->mu);
  }
  return conn;
}

Result<std::unique_ptr<LocalObject>> LocalReadClient::OpenOnce(const NodeRef& node,
                                                               const std::string& bucket,
                                                               const std::string& object,
                                                               bool* stale) {
  const std::string& node_id = node.id;
  std::shared_ptr<Conn> conn;  // declared before `held`: outlives the lock on its mutex
  std::unique_lock<std::mutex> held;
  bool fresh = false;  // connected a new one
  AISLE_ASSIGN_OR_RETURN(conn, LeaseConn(node_id, &held, &fresh));
  std::string what = "local read " + bucket + "/" + object;
  if (conn->broken) {  // it broke while we waited for it
    *stale = true;
    return Status::Unavailable(what + ": connection lost");
  }
  int s = conn->sock.get();
  // Lock order: mu_ before a Conn's mu, never the other way: Forget (mu_) runs only after
  // `held` is released.
  auto broken = [&](const Status& st) {
    conn->broken = true;  // out of sync or gone: later opens connect anew
    held.unlock();
    *stale = !fresh && st.code() != StatusCode::kTimeout;
    // A target that does not answer in time is left alone for a while: reads go over HTTP.
    Forget(node_id, st.code() == StatusCode::kTimeout);
    return Status::Unavailable(what + ": " + st.message());
  };
  localread::OpenRequest req{bucket, object, ++conn->next_id};
  if (Status st = localread::SendMessage(s, localread::Encode(req), -1); !st.ok())
    return broken(st);
  int fd = -1;
  auto msg = localread::ReceiveMessage(s, &fd);
  if (!msg.ok()) return broken(msg.status());
  Fd file(fd);
  auto reply = localread::DecodeReply(*msg);
  if (!reply.ok()) return broken(reply.status());
  if (reply->id != req.id) return broken(Status::Internal("reply to another request"));
  if (reply->status == 403) {  // the target serves another user
    held.unlock();
    Forget(node_id, true);
    return Status::Unsupported(what + ": " + reply->message);
  }
  if (reply->status != 200)
    return Status(StatusCodeForHttp(reply->status), what + ": " + reply->message);
  // An open object not taken: the target lets it go.
  auto give_back = [&] {
    (void)localread::SendMessage(s, localread::EncodeClose(reply->handle), -1);
  };
  if (fd == localread::kDroppedFd) {  // out of descriptors here
    give_back();
    return Status::Unavailable(what + ": no descriptor left for the object's file (EMFILE)");
  }
  if (fd < 0 || reply->node != node_id) return broken(Status::Internal("malformed reply"));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < reply->offset + reply->size) {
    // Replies spliced from this file could not be made up elsewhere: use it only when whole.
    give_back();
    return Status::Unavailable(what + ": the object's file is shorter than the object");
  }
  if (!node.url.empty() && reply->url != node.url) {  // same id, another node (cluster)
    give_back();
    held.unlock();
    Forget(node_id, true);
    return Status::Unsupported("local-read socket of target " + node_id + " is served by " +
                               reply->url + ", not " + node.url);
  }
  held.unlock();
  return std::unique_ptr<LocalObject>(std::make_unique<LocalFile>(conn, file.release(), *reply));
}

}  // namespace aisle::fs
