#include "cli/tls_certs.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace aisle::cli {
namespace {

namespace fs = std::filesystem;

// Runs argv to its end with stdout/stderr appended to `log`; OK when it exits 0.
Status Run(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return Status::Internal(args[0] + " " + args[1] + " failed (see " + log + ")");
  return Status::OK();
}

}  // namespace

Result<LocalTlsFiles> EnsureLocalTls(const std::string& dir) {
  std::string d = dir + "/tls";
  LocalTlsFiles f{d + "/ca.crt", d + "/node.crt", d + "/node.key"};
  if (fs::exists(f.ca_cert) && fs::exists(f.cert) && fs::exists(f.key)) return f;
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec) return Status::IOError("create " + d + ": " + ec.message());
  fs::permissions(d, fs::perms::owner_all, ec);
  std::string log = d + "/openssl.log";
  // P-256 keys: the cheapest handshakes.
  AISLE_RETURN_IF_ERROR(Run({"openssl",
                             "req",
                             "-x509",
                             "-newkey",
                             "ec",
                             "-pkeyopt",
                             "ec_paramgen_curve:prime256v1",
                             "-nodes",
                             "-keyout",
                             d + "/ca.key",
                             "-out",
                             f.ca_cert,
                             "-days",
                             "3650",
                             "-subj",
                             "/CN=Aisle local CA",
                             "-addext",
                             "basicConstraints=critical,CA:TRUE",
                             "-addext",
                             "keyUsage=critical,keyCertSign,cRLSign"},
                            log));
  AISLE_RETURN_IF_ERROR(
      Run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", f.key, "-out", d + "/node.csr", "-subj", "/CN=aisle-node"},
          log));
  std::string ext = d + "/node.ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                        "basicConstraints=CA:FALSE\n"
                        "keyUsage=critical,digitalSignature,keyEncipherment\n"
                        "extendedKeyUsage=serverAuth,clientAuth\n";
  AISLE_RETURN_IF_ERROR(
      Run({"openssl", "x509", "-req", "-in", d + "/node.csr", "-CA", f.ca_cert, "-CAkey",
           d + "/ca.key", "-CAcreateserial", "-out", f.cert, "-days", "825", "-extfile", ext},
          log));
  return f;
}

}  // namespace aisle::cli
