#include "server/http/tls_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

namespace aisle::http {
namespace {

// The newest OpenSSL error as text (the queue is cleared).
std::string SslError() {
  unsigned long e = ERR_get_error();
  unsigned long last = e;
  while (e != 0) {  // keep the deepest reason, the one that names what was wrong
    last = e;
    e = ERR_get_error();
  }
  if (last == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

Status Readable(const std::string& what, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return Status::FromErrno(errno, what + " " + path);
  std::fclose(f);
  return Status::OK();
}

Result<std::shared_ptr<ssl_ctx_st>> LoadContext(const TlsFiles& files) {
  if (files.cert_file.empty() || files.key_file.empty())
    return Status::InvalidArgument("TLS needs both --tls-cert and --tls-key");
  AISLE_RETURN_IF_ERROR(Readable("TLS certificate", files.cert_file));
  AISLE_RETURN_IF_ERROR(Readable("TLS key", files.key_file));
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("TLS: " + SslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes and a moving buffer: writes are retried from where the socket stopped.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1)
    return Status::InvalidArgument("TLS certificate " + files.cert_file + ": " + SslError());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::InvalidArgument("TLS key " + files.key_file + ": " + SslError());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return Status::InvalidArgument("TLS key " + files.key_file + " does not match certificate " +
                                   files.cert_file);
  if (!files.client_ca_file.empty()) {
    AISLE_RETURN_IF_ERROR(Readable("TLS client CA", files.client_ca_file));
    if (SSL_CTX_load_verify_locations(ctx.get(), files.client_ca_file.c_str(), nullptr) != 1)
      return Status::InvalidArgument("TLS client CA " + files.client_ca_file + ": " + SslError());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

}  // namespace

Result<std::unique_ptr<ServerTls>> ServerTls::Load(const TlsFiles& files) {
  AISLE_ASSIGN_OR_RETURN(auto ctx, LoadContext(files));
  std::unique_ptr<ServerTls> t(new ServerTls(files));
  t->ctx_ = std::move(ctx);
  return t;
}

ServerTls::~ServerTls() = default;

Status ServerTls::Reload() {
  AISLE_ASSIGN_OR_RETURN(auto ctx, LoadContext(files_));
  std::lock_guard<std::mutex> l(mu_);
  ctx_ = std::move(ctx);  // an SSL holds its own reference: live connections keep the old one
  return Status::OK();
}

ssl_st* ServerTls::NewSsl(int fd) const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    std::lock_guard<std::mutex> l(mu_);
    ctx = ctx_;
  }
  SSL* ssl = SSL_new(ctx.get());
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

Status CheckTlsFiles(const TlsFiles& files) { return LoadContext(files).status(); }

ConnIo::ConnIo(int fd, ssl_st* ssl) : fd_(fd), ssl_(ssl), want_(POLLIN) {}

ConnIo::~ConnIo() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

ssize_t ConnIo::Check(int r) {
  if (r > 0) return r;
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ: want_ = POLLIN; return kWouldBlock;
    case SSL_ERROR_WANT_WRITE: want_ = POLLOUT; return kWouldBlock;
    case SSL_ERROR_ZERO_RETURN: return 0;  // close_notify
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == EINTR) {
        want_ = POLLIN;
        return kWouldBlock;
      }
      return r == 0 ? 0 : kError;  // EOF without close_notify: the peer's end all the same
    default: ERR_clear_error(); return kError;
  }
}

ssize_t ConnIo::Recv(void* p, size_t n) {
  if (ssl_ == nullptr) {
    for (;;) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      want_ = POLLIN;
      return (errno == EAGAIN || errno == EWOULDBLOCK) ? kWouldBlock : kError;
    }
  }
  ERR_clear_error();
  size_t got = 0;
  int r = SSL_read_ex(ssl_, p, n, &got);
  if (r == 1) return static_cast<ssize_t>(got);
  return Check(r);
}

ssize_t ConnIo::Send(const void* p, size_t n) {
  if (ssl_ == nullptr) {
    for (;;) {
      ssize_t r = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      want_ = POLLOUT;
      return (errno == EAGAIN || errno == EWOULDBLOCK) ? kWouldBlock : kError;
    }
  }
  if (n == 0) return 0;
  ERR_clear_error();
  size_t put = 0;
  int r = SSL_write_ex(ssl_, p, n, &put);
  if (r == 1) return static_cast<ssize_t>(put);
  ssize_t c = Check(r);
  return c == 0 ? kError : c;
}

bool ConnIo::Pending() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

int ConnIo::Handshake() {
  if (established()) return 1;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return 1;
  }
  ssize_t c = Check(r);
  return c == kWouldBlock ? static_cast<int>(kWouldBlock) : static_cast<int>(kError);
}

void ConnIo::Shutdown() {
  if (ssl_ == nullptr || !established_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // non-blocking fd: sends close_notify if it fits, never waits
  ERR_clear_error();
}

}  // namespace aisle::http
