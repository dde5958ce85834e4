// `aisle up --tls`: a self-signed CA and one node certificate (for 127.0.0.1, ::1 and
// localhost), made with the openssl command and kept across restarts of the same dir.
#pragma once

#include <string>

#include "common/result.h"

namespace aisle::cli {

struct LocalTlsFiles {
  std::string ca_cert;  // what clients verify with (AIS_CLIENT_CA)
  std::string cert;     // every node's certificate and key
  std::string key;
};

// DIR/tls/{ca.crt,ca.key,node.crt,node.key}: existing ones are kept.
Result<LocalTlsFiles> EnsureLocalTls(const std::string& dir);

}  // namespace aisle::cli
