// The node's TLS side (OpenSSL; no OpenSSL header here): the certificate and key as one
// context swapped whole on reload, and the byte I/O of one accepted connection, plain or TLS
// over the same non-blocking socket (docs/SECURITY.md "TLS").
//
// Why not Beast's ssl_stream: the transport does its own non-blocking I/O (poll with stall
// timeouts, sendfile, hand-off between the loop and workers), which ssl_stream's blocking
// sync calls do not fit; OpenSSL runs here over the same fd instead.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "common/status.h"

struct ssl_st;
struct ssl_ctx_st;

namespace aisle::http {

struct TlsFiles {
  std::string cert_file;       // PEM chain, leaf first
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // non-empty: clients must present a certificate it signed
};

// Loads the files into a context; the error names the file that failed. Thread-safe.
class ServerTls {
 public:
  static Result<std::unique_ptr<ServerTls>> Load(const TlsFiles& files);
  ~ServerTls();
  // Loads the files again; on failure the old context stays (the error says why).
  Status Reload();
  // A server-side SSL for fd with the current context; null on failure. Connections keep
  // the context they started with; new handshakes use the newest.
  ssl_st* NewSsl(int fd) const;

 private:
  explicit ServerTls(TlsFiles files) : files_(std::move(files)) {}
  TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<ssl_ctx_st> ctx_;  // GUARDED_BY(mu_)
};

// Checks that the files load (the node's start-up check); the error names the file.
Status CheckTlsFiles(const TlsFiles& files);

// Byte I/O of one connection: plain recv/send, or OpenSSL over the fd. Not thread-safe (the
// loop or one worker owns a connection at a time).
class ConnIo {
 public:
  ConnIo(int fd, ssl_st* ssl);  // ssl: null = plain; owned
  ~ConnIo();
  ConnIo(const ConnIo&) = delete;
  ConnIo& operator=(const ConnIo&) = delete;

  bool tls() const { return ssl_ != nullptr; }
  int fd() const { return fd_; }
  // > 0 bytes; 0 at the peer's end; kWouldBlock (wait for want_events()); kError.
  static constexpr ssize_t kWouldBlock = -1;
  static constexpr ssize_t kError = -2;
  ssize_t Recv(void* p, size_t n);
  ssize_t Send(const void* p, size_t n);
  // Decrypted bytes already inside OpenSSL (a poll on the fd would not see them).
  bool Pending() const;
  // TLS: advances the handshake; 1 done, kWouldBlock, kError. Plain: 1.
  int Handshake();
  bool established() const { return !ssl_ || established_; }
  // POLLIN or POLLOUT: what the last kWouldBlock waits for.
  short want_events() const { return want_; }
  // TLS: sends close_notify if the socket takes it now (never waits).
  void Shutdown();

 private:
  ssize_t Check(int r);  // maps an OpenSSL result
  int fd_;
  ssl_st* ssl_;
  bool established_ = false;
  short want_;
};

}  // namespace aisle::http
