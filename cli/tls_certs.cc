#include "cli/tls_certs.h"

#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cli/spawn.h"

namespace aisle::cli {
namespace {

namespace fs = std::filesystem;

// Runs argv to its end with stdout/stderr appended to `log`; OK when it exits 0.
Status Run(const std::vector<std::string>& args, const std::string& log) {
  AISLE_ASSIGN_OR_RETURN(pid_t pid, SpawnLogged(args, log, {.log_mode = 0600}));
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
