#include "fs/client/raw_range_get.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/text.h"

namespace aisle::fs {
namespace {

constexpr size_t kMaxHead = 16 << 10;
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr size_t kMaxIdlePerHost = 32;

Status SocketError(const char* what, int err, bool* sent_nothing_back) {
  if (err == EAGAIN || err == EWOULDBLOCK)
    return Status::Timeout(std::string(what) + ": node stalled");
  if (sent_nothing_back != nullptr) *sent_nothing_back = true;
  return Status::Unavailable(std::string(what) + ": " + std::strerror(err));
}

struct Head {
  bool http11 = false;
  int status = 0;
  bool has_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool close = false;
};

bool ParseHead(std::string_view head, Head* h) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/") return false;
  h->http11 = line.substr(5, 3) == "1.1";
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp + 4 > line.size()) return false;
  h->status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
  if (h->status < 100 || h->status > 599) return false;
  h->close = !h->http11;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view l = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = TrimSpace(l.substr(0, colon)), value = TrimSpace(l.substr(colon + 1));
    if (IEquals(name, "Content-Length")) {
      h->has_length = true;
      h->content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (IEquals(name, "Transfer-Encoding")) {
      h->chunked = !IEquals(value, "identity");
    } else if (IEquals(name, "Connection")) {
      if (IEquals(value, "close")) h->close = true;
      if (IEquals(value, "keep-alive")) h->close = false;
    }
  }
  return true;
}

// recv until `n` bytes are in dest; kUnavailable on EOF, kTimeout on a stall.
Status RecvAll(int fd, char* dest, uint64_t n) {
  uint64_t got = 0;
  while (got < n) {
    ssize_t k = ::recv(fd, dest + got, n - got, MSG_WAITALL);
    if (k > 0) {
      got += static_cast<uint64_t>(k);
    } else if (k == 0) {
      return Status::Unavailable("range get: connection closed after " + std::to_string(got) +
                                 " of " + std::to_string(n) + " body bytes");
    } else if (errno != EINTR) {
      return SocketError("range get: receiving the body", errno, nullptr);
    }
  }
  return Status::OK();
}

}  // namespace

RawRangeGetter::RawRangeGetter(std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds stall_timeout)
    : connect_timeout_(connect_timeout), stall_timeout_(stall_timeout) {}

IdleConnections::~IdleConnections() {
  for (auto& [hp, fds] : idle_) {
    for (int fd : fds) ::close(fd);
  }
}

std::string RawRangeGetter::HostPortOf(const std::string& base_url) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.compare(0, kScheme.size(), kScheme) != 0) return "";
  std::string hp = base_url.substr(kScheme.size());
  if (hp.empty() || hp.find('/') != std::string::npos || hp.find('@') != std::string::npos)
    return "";
  return hp;
}

int IdleConnections::Take(const std::string& hostport) {
  std::lock_guard lk(mu_);
  auto it = idle_.find(hostport);
  if (it == idle_.end() || it->second.empty()) return -1;
  int fd = it->second.back();
  it->second.pop_back();
  return fd;
}

void IdleConnections::Put(const std::string& hostport, int fd) {
  {
    std::lock_guard lk(mu_);
    auto& v = idle_[hostport];
    if (v.size() < kMaxIdlePerHost) {
      v.push_back(fd);
      return;
    }
  }
  ::close(fd);
}

Result<int> RawRangeGetter::Connect(const std::string& hostport) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("no port in " + hostport);
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::Unavailable("resolve " + host + ": " + ::gai_strerror(rc));
  Status last = Status::Unavailable("connect " + hostport + ": no address");
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(connect_timeout_.count()));
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        last = rc == 0 ? Status::Timeout("connect " + hostport + ": timed out")
                       : Status::Unavailable("connect " + hostport + ": " +
                                             std::strerror(err != 0 ? err : errno));
        rc = -1;
      }
    } else if (rc != 0) {
      last = Status::Unavailable("connect " + hostport + ": " + std::strerror(errno));
    }
    if (rc != 0) {
      ::close(fd);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(stall_timeout_.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((stall_timeout_.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  return last;
}

namespace {

std::string RangeRequest(const std::string& hostport, const std::string& target, uint64_t offset,
                         uint64_t length) {
  return "GET " + target + " HTTP/1.1\r\nHost: " + hostport +
         "\r\nRange: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
         "\r\nUser-Agent: aisle-fs\r\n\r\n";
}

// Sends `request` and reads the response head; body bytes that came with it go to *extra.
// Replies this reader leaves to libcurl are kUnsupported.
Result<Head> SendAndReadHead(int fd, const std::string& request, uint64_t length,
                             std::string* extra, bool* sent_nothing_back) {
  for (size_t sent = 0; sent < request.size();) {
    ssize_t k = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return SocketError("range get: sending", errno, sent_nothing_back);
    sent += static_cast<size_t>(k);
  }
  char buf[kMaxHead];
  size_t have = 0, head_end = 0;
  while (head_end == 0) {
    if (have == sizeof buf) return Status::IOError("range get: response head over 16 KiB");
    ssize_t k = ::recv(fd, buf + have, sizeof buf - have, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0)
      return SocketError("range get: receiving", errno, have == 0 ? sent_nothing_back : nullptr);
    if (k == 0) {
      if (have == 0) *sent_nothing_back = true;  // a keep-alive connection the node closed
      return Status::Unavailable("range get: connection closed before the response");
    }
    size_t from = have >= 3 ? have - 3 : 0;
    have += static_cast<size_t>(k);
    std::string_view sv(buf, have);
    if (size_t e = sv.find("\r\n\r\n", from); e != std::string_view::npos) head_end = e + 4;
  }
  Head h;
  if (!ParseHead(std::string_view(buf, head_end), &h))
    return Status::IOError("range get: malformed response head");
  if (h.chunked || !h.has_length || (h.status >= 300 && h.status < 400) ||
      (h.status / 100 == 2 && h.content_length > length)) {
    return Status::Unsupported("range get: reply left to the general client");
  }
  if (have - head_end > h.content_length) return Status::IOError("range get: bytes after the body");
  extra->assign(buf + head_end, have - head_end);
  return h;
}

// The (bounded) body of an error reply; *whole is false when the rest was left unread.
Result<std::string> ReadErrorBody(int fd, const Head& h, const std::string& extra, bool* whole) {
  uint64_t keep = std::min<uint64_t>(h.content_length, kMaxErrorBody);
  std::string body = extra.substr(0, keep);
  if (body.size() < keep) {
    size_t at = body.size();
    body.resize(keep);
    AISLE_RETURN_IF_ERROR(RecvAll(fd, body.data() + at, keep - at));
  }
  *whole = keep == h.content_length;
  return body;
}

}  // namespace

template <typename T, typename Fn>
Result<T> RawRangeGetter::OnConnection(const std::string& hostport, Fn&& exchange) {
  for (int attempt = 0;; ++attempt) {
    int fd = attempt == 0 ? idle_->Take(hostport) : -1;
    bool reused = fd >= 0;
    if (!reused) {
      AISLE_ASSIGN_OR_RETURN(fd, Connect(hostport));
    }
    bool reusable = false, sent_nothing_back = false;
    Result<T> r = exchange(fd, &reusable, &sent_nothing_back);
    if (fd >= 0) {
      if (r.ok() && reusable) {
        idle_->Put(hostport, fd);
      } else {
        ::close(fd);
      }
    }
    // A kept-alive connection the node has closed meanwhile: once more on a new one.
    if (!r.ok() && reused && sent_nothing_back) continue;
    return r;
  }
}

Result<RawStreamReply> RawRangeGetter::Open(const std::string& hostport, const std::string& target,
                                            uint64_t offset, uint64_t length) {
  if (length == 0) return Status::InvalidArgument("range get: empty stream");
  std::string request = RangeRequest(hostport, target, offset, length);
  return OnConnection<RawStreamReply>(
      hostport, [&](int& fd, bool* reusable, bool* sent_nothing_back) -> Result<RawStreamReply> {
        std::string extra;
        AISLE_ASSIGN_OR_RETURN(Head h,
                               SendAndReadHead(fd, request, length, &extra, sent_nothing_back));
        RawStreamReply reply;
        reply.status = h.status;
        if (h.status / 100 == 2) {
          reply.body.reset(new RawBodyStream(fd, h.content_length, std::move(extra),
                                             h.close ? nullptr : idle_, hostport));
          fd = -1;  // the stream owns the connection now
        } else {
          bool whole = false;
          AISLE_ASSIGN_OR_RETURN(reply.error_body, ReadErrorBody(fd, h, extra, &whole));
          *reusable = whole && !h.close;
        }
        return reply;
      });
}

RawBodyStream::~RawBodyStream() {
  if (fd_ >= 0) ::close(fd_);
}

Result<uint64_t> RawBodyStream::Read(char* dest, uint64_t n) {
  if (!broken_.ok()) return broken_;
  n = std::min(n, remaining_);
  if (n == 0) return uint64_t{0};
  uint64_t from_pending = std::min<uint64_t>(n, pending_.size());
  if (from_pending > 0) {
    std::memcpy(dest, pending_.data(), from_pending);
    pending_.erase(0, from_pending);
  }
  return Took(n, RecvAll(fd_, dest + from_pending, n - from_pending));
}

namespace {
std::atomic<bool> g_socket_splice_refused{false};  // the kernel said no once: do not retry
}  // namespace

Result<uint64_t> RawBodyStream::SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full) {
  *pipe_full = false;
  if (!broken_.ok()) return broken_;
  if (g_socket_splice_refused.load(std::memory_order_relaxed))
    return Status::Unsupported("the kernel does not splice from sockets here");
  n = std::min(n, remaining_);
  if (n == 0) return uint64_t{0};
  uint64_t done = 0;
  // The pipe side never waits (SPLICE_F_NONBLOCK): nothing else empties this pipe while we
  // fill it, so a full pipe would wait forever. The socket side waits up to SO_RCVTIMEO.
  auto room = [&] {
    pollfd p{pipe_wr, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
  };
  while (done < n && !pending_.empty()) {  // bytes that came with the response head
    // Written only where the pipe has room (a write to a blocking pipe would wait for it).
    int cap = ::fcntl(pipe_wr, F_GETPIPE_SZ), used = 0;
    if (cap < 0 || ::ioctl(pipe_wr, FIONREAD, &used) != 0)
      return Took(n, Status::FromErrno(errno, "range get: pipe size"));
    uint64_t fits = cap > used ? static_cast<uint64_t>(cap - used) : 0;
    if (fits == 0) {
      *pipe_full = true;
      return Took(done, Status::OK());
    }
    ssize_t k =
        ::write(pipe_wr, pending_.data(), std::min<uint64_t>({n - done, pending_.size(), fits}));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return Took(n, Status::FromErrno(errno, "range get: write to pipe"));
    pending_.erase(0, static_cast<size_t>(k));
    done += static_cast<uint64_t>(k);
  }
  while (done < n) {
    ssize_t k =
        ::splice(fd_, nullptr, pipe_wr, nullptr, n - done, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (k > 0) {
      done += static_cast<uint64_t>(k);
    } else if (k == 0) {
      return Took(n,
                  Status::Unavailable("range get: connection closed after " + std::to_string(done) +
                                      " of " + std::to_string(n) + " body bytes"));
    } else if (errno == EAGAIN && !room()) {
      *pipe_full = true;  // the caller receives the rest the usual way
      break;
    } else if (done == 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      g_socket_splice_refused = true;
      return Status::Unsupported("the kernel does not splice from sockets here");
    } else if (errno != EINTR) {
      return Took(n, SocketError("range get: receiving the body", errno, nullptr));
    }
  }
  return Took(done, Status::OK());
}

Result<uint64_t> RawBodyStream::Took(uint64_t n, const Status& st) {
  if (!st.ok()) {
    broken_ = st;  // spent: the position in the body is unknown
    remaining_ = 0;
    return st;
  }
  remaining_ -= n;
  if (remaining_ == 0 && idle_ != nullptr) {  // read to its end: the connection can be reused
    idle_->Put(hostport_, fd_);
    fd_ = -1;
  }
  return n;
}

}  // namespace aisle::fs
