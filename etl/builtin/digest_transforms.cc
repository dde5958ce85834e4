// identity, md5, sha256, xxhash: output the input, or its lowercase hex digest.
#include <openssl/evp.h>

#include "common/checksum.h"
#include "etl/builtin/builtin_ops.h"

namespace aisle::etl::builtin {
namespace {

std::string ToHex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

Result<std::string> EvpHex(const EVP_MD* md, std::string_view data, const char* what) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), buf, &len, md, nullptr) != 1) {
    return Status::Internal(std::string(what) + ": EVP_Digest failed");
  }
  return ToHex(buf, len);
}

}  // namespace

Status ValidateNoArgs(const Args& args, bool /*complete*/) { return CheckKeys(args, {}); }

Result<std::string> RunIdentity(const BuiltinCall& call) {
  if (call.data.size() > call.max_output) {
    return Status::TooLarge("output of " + std::to_string(call.data.size()) +
                            " bytes exceeds max_output " + std::to_string(call.max_output));
  }
  return std::string(call.data);
}

Result<std::string> RunMd5(const BuiltinCall& call) { return EvpHex(EVP_md5(), call.data, "md5"); }

Result<std::string> RunSha256(const BuiltinCall& call) {
  return EvpHex(EVP_sha256(), call.data, "sha256");
}

Result<std::string> RunXxhash(const BuiltinCall& call) { return Hex64(Xxh64(call.data)); }

}  // namespace aisle::etl::builtin
