#include "common/local_read_protocol.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace aisle::localread {

socklen_t MakeAddress(std::string_view node_id, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::string name = "aisle-local-read/";
  name.append(node_id);
  size_t n = std::min(name.size(), sizeof(addr->sun_path) - 1);
  std::memcpy(addr->sun_path + 1, name.data(), n);  // sun_path[0] = 0: the abstract namespace
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

std::string Encode(const OpenRequest& req) {
  return nlohmann::json{
      {"op", "open"}, {"id", req.id}, {"bucket", req.bucket}, {"object", req.object}}
      .dump();
}

std::string EncodeClose(uint64_t handle) {
  return nlohmann::json{{"op", "close"}, {"handle", handle}}.dump();
}

std::string Encode(const OpenReply& r) {
  nlohmann::json j{{"status", r.status}, {"id", r.id}};
  if (r.status != 200) {
    j["message"] = r.message;
  } else {
    j.update({{"handle", r.handle},
              {"node", r.node},
              {"url", r.url},
              {"offset", r.offset},
              {"size", r.size},
              {"version", r.version},
              {"mtime_ns", r.mtime_ns}});
  }
  return j.dump();
}

namespace {

Result<nlohmann::json> ParseObject(std::string_view msg, const char* what) {
  auto j = nlohmann::json::parse(msg, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument(std::string("malformed local-read ") + what);
  return j;
}

// A field of the wrong type ({"op": 3}) makes nlohmann's value() throw; the decoders answer
// kInvalidArgument instead, since they run on the local-read thread (found by fuzzing).
Result<Request> DecodeRequestFields(const nlohmann::json& j);
Result<OpenReply> DecodeReplyFields(const nlohmann::json& j);

}  // namespace

Result<Request> DecodeRequest(std::string_view msg) {
  AISLE_ASSIGN_OR_RETURN(auto j, ParseObject(msg, "request"));
  try {
    return DecodeRequestFields(j);
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("malformed local-read request: a field has the wrong type");
  }
}

Result<OpenReply> DecodeReply(std::string_view msg) {
  AISLE_ASSIGN_OR_RETURN(auto j, ParseObject(msg, "reply"));
  try {
    return DecodeReplyFields(j);
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("malformed local-read reply: a field has the wrong type");
  }
}

namespace {

Result<Request> DecodeRequestFields(const nlohmann::json& j) {
  Request req;
  std::string op = j.value("op", std::string());
  if (op == "close") {
    auto h = j.find("handle");
    if (h == j.end() || !h->is_number_unsigned())
      return Status::InvalidArgument("local-read close needs a numeric \"handle\"");
    req.close = true;
    req.handle = h->get<uint64_t>();
    return req;
  }
  if (op != "open") return Status::InvalidArgument("local-read op must be \"open\" or \"close\"");
  auto b = j.find("bucket");
  auto o = j.find("object");
  if (b == j.end() || o == j.end() || !b->is_string() || !o->is_string())
    return Status::InvalidArgument("local-read open needs string \"bucket\" and \"object\"");
  req.open = {b->get<std::string>(), o->get<std::string>(), j.value("id", uint64_t{0})};
  return req;
}

Result<OpenReply> DecodeReplyFields(const nlohmann::json& j) {
  OpenReply r;
  r.status = j.value("status", 0);
  r.id = j.value("id", uint64_t{0});
  if (r.status != 200) {
    r.message = j.value("message", std::string());
    return r;
  }
  auto u64 = [&](const char* k) { return j.contains(k) && j[k].is_number_unsigned(); };
  if (!u64("offset") || !u64("size") || !j.contains("node") || !j["node"].is_string())
    return Status::InvalidArgument("local-read reply lacks node/offset/size");
  r.handle = j.value("handle", uint64_t{0});
  r.node = j["node"].get<std::string>();
  r.url = j.value("url", std::string());
  r.offset = j["offset"].get<uint64_t>();
  r.size = j["size"].get<uint64_t>();
  r.version = j.value("version", std::string());
  r.mtime_ns = j.value("mtime_ns", int64_t{0});
  return r;
}

}  // namespace

Status SendMessage(int sock, std::string_view msg, int fd) {
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    std::memset(control, 0, sizeof(control));
    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n >= 0) return Status::OK();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return Status::Timeout("local-read send timed out");
    return Status::FromErrno(errno, "local-read send");
  }
}

Result<std::string> ReceiveMessage(int sock, int* fd) {
  *fd = -1;
  std::string buf(kMaxMessage, '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  mh.msg_control = control;
  mh.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return Status::Timeout("local-read receive timed out");
    return Status::FromErrno(errno, "local-read receive");
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int)))
      std::memcpy(fd, CMSG_DATA(c), sizeof(int));
  }
  if (n == 0) {
    if (*fd >= 0) ::close(*fd), *fd = -1;
    return Status::Unavailable("local-read peer closed the connection");
  }
  if (mh.msg_flags & MSG_TRUNC) {
    if (*fd >= 0) ::close(*fd), *fd = -1;
    return Status::InvalidArgument("local-read message too long");
  }
  if ((mh.msg_flags & MSG_CTRUNC) && *fd < 0) *fd = kDroppedFd;  // EMFILE: the kernel dropped it
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace aisle::localread
