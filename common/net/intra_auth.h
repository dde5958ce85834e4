// Signatures of node-to-node ("intra-cluster") requests with the cluster secret, shared by the
// signers (PeerClient, the S3 relay, the CLI's admin calls) and the verifier (server/api/
// peer_auth). What is signed and why is in docs/SECURITY.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace aisle {

// The sender's node ID; marks a node-to-node request (never redirected again).
inline constexpr const char* kIntraHeader = "Aisle-Intra";
inline constexpr const char* kIntraTimeHeader = "Aisle-Intra-Time";  // Unix seconds
inline constexpr const char* kIntraBodyHeader = "Aisle-Intra-Body";  // SHA-256 hex or:
inline constexpr const char* kIntraSigHeader = "Aisle-Intra-Sig";    // HMAC-SHA256 hex
// A streamed body (object data) that is not covered by the signature.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// Answer header of a verified request: HMAC over the request's signature and the answering
// node's ID, so the caller knows who answered (the join check).
inline constexpr const char* kIntraProofHeader = "Aisle-Intra-Proof";
inline constexpr size_t kMinClusterSecretBytes = 32;

// What a request signature covers.
struct IntraFields {
  std::string_view method;       // "PUT"
  std::string_view target;       // path and query exactly as sent: "/v1/metasync?x=1"
  int64_t time_s = 0;            // Aisle-Intra-Time
  std::string_view sender;       // Aisle-Intra: the sending node's ID
  std::string_view body_digest;  // Aisle-Intra-Body
};

class ClusterSecret {
 public:
  // The secret is the file's bytes without trailing whitespace; at least 32 bytes.
  static Result<ClusterSecret> Load(const std::string& path);
  static Result<ClusterSecret> FromBytes(std::string bytes);

  std::string Sign(const IntraFields& f) const;  // lower-case hex
  // Constant-time comparison with the expected signature.
  bool Verify(const IntraFields& f, std::string_view sig_hex) const;
  std::string Proof(std::string_view request_sig, std::string_view responder) const;
  bool VerifyProof(std::string_view request_sig, std::string_view responder,
                   std::string_view proof) const;
  // Raw HMAC-SHA256 (32 bytes) of `data` with the secret: user tokens and grants (jwt.h).
  std::string Mac(std::string_view data) const;

 private:
  explicit ClusterSecret(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

std::string Sha256Hex(std::string_view data);
// SHA-256 of a stream, fed piece by piece (a signed body checked as it is read).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const void* data, size_t n);
  std::string HexFinal();  // once

 private:
  void* ctx_;  // EVP_MD_CTX*: OpenSSL stays out of headers
};
// "/path?query" of "http://host:port/path?query" ("/" when the URL has no path).
std::string UrlTarget(std::string_view url);
// Sets Aisle-Intra, -Time, -Body and -Sig on `headers` (replacing any already there).
void SignIntra(const ClusterSecret& secret, std::string_view method, std::string_view target,
               std::string_view sender, std::string_view body_digest, int64_t now_s,
               std::vector<std::pair<std::string, std::string>>* headers);
// True for Aisle-Intra and every Aisle-Intra-* header name (case-insensitive).
bool IsIntraHeaderName(std::string_view name);
// Removes those headers (a relay must not pass on a client's).
void StripIntraHeaders(std::vector<std::pair<std::string, std::string>>* headers);

}  // namespace aisle
