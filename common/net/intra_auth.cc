#include "common/net/intra_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <fstream>
#include <sstream>

namespace aisle {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string HmacHex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return Hex(out, n);
}

bool SameHex(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// One line per field: no field can contain a newline (header values, request targets).
std::string Canonical(const IntraFields& f) {
  std::string s = "aisle-intra-v1\n";
  s.append(f.method).append("\n").append(f.target).append("\n");
  s.append(std::to_string(f.time_s)).append("\n").append(f.sender).append("\n");
  s.append(f.body_digest);
  return s;
}

}  // namespace

Result<ClusterSecret> ClusterSecret::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read the cluster secret file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("cannot read the cluster secret file " + path);
  auto s = FromBytes(ss.str());
  if (!s.ok()) return s.status().WithContext(path);
  return s;
}

Result<ClusterSecret> ClusterSecret::FromBytes(std::string bytes) {
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r' || bytes.back() == ' ' ||
                            bytes.back() == '\t'))
    bytes.pop_back();
  if (bytes.size() < kMinClusterSecretBytes)
    return Status::InvalidArgument("the cluster secret has " + std::to_string(bytes.size()) +
                                   " bytes; at least " + std::to_string(kMinClusterSecretBytes) +
                                   " are required");
  return ClusterSecret(std::move(bytes));
}

std::string ClusterSecret::Mac(std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string ClusterSecret::Sign(const IntraFields& f) const { return HmacHex(key_, Canonical(f)); }

bool ClusterSecret::Verify(const IntraFields& f, std::string_view sig_hex) const {
  return SameHex(Sign(f), sig_hex);
}

std::string ClusterSecret::Proof(std::string_view request_sig, std::string_view responder) const {
  std::string s = "aisle-intra-proof-v1\n";
  s.append(request_sig).append("\n").append(responder);
  return HmacHex(key_, s);
}

bool ClusterSecret::VerifyProof(std::string_view request_sig, std::string_view responder,
                                std::string_view proof) const {
  return SameHex(Proof(request_sig, responder), proof);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_sha256(), nullptr);
  return Hex(out, n);
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(const void* data, size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n);
}

std::string Sha256Stream::HexFinal() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &n);
  return Hex(out, n);
}

std::string UrlTarget(std::string_view url) {
  size_t scheme = url.find("://");
  size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', from);
  if (slash == std::string_view::npos) {
    size_t q = url.find('?', from);
    return q == std::string_view::npos ? "/" : "/" + std::string(url.substr(q));
  }
  return std::string(url.substr(slash));
}

bool IsIntraHeaderName(std::string_view name) {
  constexpr std::string_view kPrefix = "Aisle-Intra";
  if (name.size() < kPrefix.size() || strncasecmp(name.data(), kPrefix.data(), kPrefix.size()) != 0)
    return false;
  return name.size() == kPrefix.size() || name[kPrefix.size()] == '-';
}

void StripIntraHeaders(std::vector<std::pair<std::string, std::string>>* headers) {
  std::erase_if(*headers, [](const auto& kv) { return IsIntraHeaderName(kv.first); });
}

void SignIntra(const ClusterSecret& secret, std::string_view method, std::string_view target,
               std::string_view sender, std::string_view body_digest, int64_t now_s,
               std::vector<std::pair<std::string, std::string>>* headers) {
  StripIntraHeaders(headers);
  IntraFields f{method, target, now_s, sender, body_digest};
  headers->emplace_back(kIntraHeader, std::string(sender));
  headers->emplace_back(kIntraTimeHeader, std::to_string(now_s));
  headers->emplace_back(kIntraBodyHeader, std::string(body_digest));
  headers->emplace_back(kIntraSigHeader, secret.Sign(f));
}

}  // namespace aisle
