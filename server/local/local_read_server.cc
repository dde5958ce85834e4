#include "server/local/local_read_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "common/logging.h"

namespace aisle::local {

struct LocalReadServer::Conn {
  // One worker at a time serves a connection (EPOLLONESHOT); the lock makes that hand-over
  // between workers explicit (and visible to ThreadSanitizer, which does not model epoll).
  std::mutex mu;
  int fd = -1;
  bool refused = false;  // a peer of another uid: every open is answered 403
  uint64_t next_handle = 1;
  std::unordered_map<uint64_t, std::shared_ptr<const void>> held;  // open objects by handle
};

namespace {
// Tags for the two non-connection entries of the epoll set.
char kListenTag, kStopTag;
}  // namespace

LocalReadServer::LocalReadServer(LocalReadServerOptions opts, LocalOpenHandler handler)
    : opts_(std::move(opts)), handler_(std::move(handler)) {}

Result<std::unique_ptr<LocalReadServer>> LocalReadServer::Start(LocalReadServerOptions opts,
                                                                LocalOpenHandler handler) {
  std::unique_ptr<LocalReadServer> s(new LocalReadServer(std::move(opts), std::move(handler)));
  s->listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return Status::FromErrno(errno, "local-read socket");
  sockaddr_un addr;
  socklen_t len = localread::MakeAddress(s->opts_.node_id, &addr);
  if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    return Status::FromErrno(err, err == EADDRINUSE
                                      ? "local-read socket of node " + s->opts_.node_id +
                                            " (another node with this id runs here)"
                                      : "local-read bind");
  }
  if (::listen(s->listen_fd_, 256) != 0) return Status::FromErrno(errno, "local-read listen");
  s->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  s->stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->epoll_fd_ < 0 || s->stop_fd_ < 0) return Status::FromErrno(errno, "local-read epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &kListenTag;
  ::epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->listen_fd_, &ev);
  ev.data.ptr = &kStopTag;
  ::epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->stop_fd_, &ev);
  for (int i = 0; i < std::max(1, s->opts_.threads); ++i)
    s->workers_.emplace_back([p = s.get()] { p->Work(); });
  return s;
}

LocalReadServer::~LocalReadServer() {
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(stop_fd_, &one, sizeof(one));
  }
  for (auto& t : workers_) t.join();
  for (Conn* c : conns_) {
    ::close(c->fd);
    delete c;
  }
  for (int fd : {listen_fd_, epoll_fd_, stop_fd_})
    if (fd >= 0) ::close(fd);
}

size_t LocalReadServer::connections() const {
  std::lock_guard lk(mu_);
  return conns_.size();
}

void LocalReadServer::Work() {
  epoll_event events[16];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("local reads: epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &kStopTag) return;  // level-triggered: every worker sees it
      if (tag == &kListenTag) {
        Accept();
        continue;
      }
      auto* c = static_cast<Conn*>(tag);
      std::unique_lock serving(c->mu);
      bool keep = (events[i].events & EPOLLIN) && Serve(c);
      if (!keep) {
        serving.unlock();
        Close(c);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
      ev.data.ptr = c;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);  // the next worker waits for `serving`
    }
  }
}

void LocalReadServer::Accept() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The listen fd stays readable: back off rather than spin (clients wait or time out).
        spdlog::warn("local reads: accept: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return;  // EAGAIN: another worker took it
    }
    // Only this node's user (or root) may receive its files' descriptors; others are told so
    // (403) on the connection, so they stop asking.
    ucred cred{};
    socklen_t cl = sizeof(cred);
    bool trusted = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
                   (cred.uid == 0 || cred.uid == ::geteuid());
    if (!trusted)
      spdlog::warn("local reads: refusing a peer of uid {} (pid {})", cred.uid, cred.pid);
    auto* c = new Conn;
    c->fd = fd;
    c->refused = !trusted;
    {
      std::lock_guard lk(mu_);
      conns_.insert(c);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) Close(c);
  }
}

bool LocalReadServer::Serve(Conn* c) {
  for (;;) {  // every message waiting: a client may send closes and an open back to back
    int passed = -1;
    auto msg = localread::ReceiveMessage(c->fd, &passed);
    if (passed >= 0) ::close(passed);                                   // clients send none
    if (!msg.ok()) return msg.status().code() == StatusCode::kTimeout;  // EAGAIN: all read
    if (!Handle(c, *msg)) return false;
  }
}

bool LocalReadServer::Handle(Conn* c, std::string_view msg) {
  auto req = localread::DecodeRequest(msg);
  LocalOpenResult res;
  if (req.ok() && req->close) {
    if (c->held.erase(req->handle) > 0) --open_objects_;
    return true;
  }
  bool reserved = false;  // a slot of max_open, taken before the handler runs
  if (!req.ok()) {
    res.reply.status = 400;
    res.reply.message = req.status().message();
  } else if (c->refused) {
    res.reply.status = 403;
    res.reply.message = "local reads are for the node's own user and root";
  } else if (open_objects_.fetch_add(1) >= opts_.max_open) {
    --open_objects_;
    res.reply.status = 503;
    res.reply.message = "too many objects open for local reads; read over HTTP";
  } else {
    reserved = true;
    res = handler_(req->open);
  }
  if (req.ok()) res.reply.id = req->open.id;
  bool ok = res.reply.status == 200 && res.fd >= 0;
  if (ok) res.reply.handle = c->next_handle++;
  Status st = localread::SendMessage(c->fd, localread::Encode(res.reply), ok ? res.fd : -1);
  if (ok && st.ok()) {
    c->held.emplace(res.reply.handle, std::move(res.hold));
  } else if (reserved) {
    --open_objects_;
  }
  return st.ok();
}

void LocalReadServer::Close(Conn* c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  {
    std::lock_guard lk(mu_);
    conns_.erase(c);
  }
  {
    std::lock_guard serving(c->mu);  // no worker is serving it any more (removed from epoll)
    ::close(c->fd);
    open_objects_ -= c->held.size();
    c->held.clear();  // releases the objects it held
  }
  delete c;
}

}  // namespace aisle::local
