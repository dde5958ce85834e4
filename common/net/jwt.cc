#include "common/net/jwt.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

namespace aisle {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Status Malformed(const std::string& why) {
  return Status::InvalidArgument("malformed token: " + why);
}

}  // namespace

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return Malformed("bad base64url length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Value(c);
    if (v < 0) return Malformed("not base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return Malformed("base64url leftover bits");
  return out;
}

std::string SignJwt(const ClusterSecret& secret, std::string_view payload_json) {
  std::string s = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  s += '.';
  s += Base64UrlEncode(payload_json);
  std::string sig = Base64UrlEncode(secret.Mac(s));
  s += '.';
  s += sig;
  return s;
}

Result<std::string> VerifyJwt(const ClusterSecret& secret, std::string_view token) {
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos)
    return Malformed("expecting header.payload.signature");
  if (a == 0 || b == a + 1 || b + 1 == token.size()) return Malformed("empty part");
  AISLE_ASSIGN_OR_RETURN(std::string header, Base64UrlDecode(token.substr(0, a)));
  nlohmann::json h = nlohmann::json::parse(header, nullptr, false);
  if (h.is_discarded() || !h.is_object()) return Malformed("the header is not a JSON object");
  auto alg = h.find("alg");
  if (alg == h.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256")
    return Status::InvalidArgument("token algorithm must be HS256");
  AISLE_ASSIGN_OR_RETURN(std::string sig, Base64UrlDecode(token.substr(b + 1)));
  std::string want = secret.Mac(token.substr(0, b));
  if (!ConstantTimeEqual(sig, want)) return Status::InvalidArgument("invalid token signature");
  return Base64UrlDecode(token.substr(a + 1, b - a - 1));
}

}  // namespace aisle
