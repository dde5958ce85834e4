// OpenSSL-backed digests for the S3 layer: MD5 (ETags), SHA-256 and HMAC-SHA256 (SigV4).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace aisle::api::s3 {

// Streaming digest; kind is "MD5" or "SHA256". Final() may be called once.
class Digest {
 public:
  explicit Digest(const char* kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void Update(const void* data, size_t n);
  std::string Final();  // raw digest bytes

 private:
  void* ctx_;  // EVP_MD_CTX*, opaque so OpenSSL stays out of headers
};

std::string Md5(std::string_view data);                               // raw
std::string Sha256(std::string_view data);                            // raw
std::string HmacSha256(std::string_view key, std::string_view data);  // raw
std::string HmacSha1(std::string_view key, std::string_view data);    // raw (SigV2 URLs)
std::string ToHex(std::string_view raw);
std::string Base64(std::string_view raw);
// Decodes standard base64; false on malformed input.
bool FromBase64(std::string_view in, std::string* out);
// Constant-time comparison (signatures).
bool SafeEqual(std::string_view a, std::string_view b);

}  // namespace aisle::api::s3
