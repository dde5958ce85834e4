// How a client verifies the servers it calls over https (and, for mutual TLS, which
// certificate it shows). Shared by both client stacks (http_client, http_stream).
#pragma once

#include <string>

namespace aisle {

struct TlsClientOptions {
  std::string ca_file;       // PEM CAs that sign the servers' certificates; empty: the system's
  bool skip_verify = false;  // testing only: no certificate or host name check
  std::string cert_file;     // mutual TLS: this client's certificate chain and key
  std::string key_file;
};

}  // namespace aisle
