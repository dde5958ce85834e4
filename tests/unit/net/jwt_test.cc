// common/net/jwt: HS256 tokens: RFC 7515's example, round trips, and every malformed form.
#include "common/net/jwt.h"

#include <gtest/gtest.h>

namespace aisle {
namespace {

ClusterSecret Secret(char c = 's') { return *ClusterSecret::FromBytes(std::string(32, c)); }

TEST(JwtTest, Base64UrlRoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    auto back = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(back.ok()) << i;
    EXPECT_EQ(*back, data);
    data += static_cast<char>(i * 37 + 250);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(JwtTest, Base64UrlRefusesPaddingForeignCharactersAndLeftoverBits) {
  for (const char* bad : {"ab=", "a+b/", "a b", "a", "abcde", "-_9"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
  }
}

TEST(JwtTest, VerifiesRfc7515Example) {
  // RFC 7515 appendix A.1: the HMAC SHA-256 example with its 64-byte key.
  auto key = Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.ok());
  ClusterSecret s = *ClusterSecret::FromBytes(*key);
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto payload = VerifyJwt(s, token);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_NE(payload->find("\"iss\":\"joe\""), std::string::npos);
}

TEST(JwtTest, SignsAndVerifies) {
  ClusterSecret s = Secret();
  std::string t = SignJwt(s, R"({"sub":"u","exp":5})");
  auto p = VerifyJwt(s, t);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, R"({"sub":"u","exp":5})");
  EXPECT_FALSE(VerifyJwt(Secret('t'), t).ok());  // another secret
}

TEST(JwtTest, RefusesEveryMalformedForm) {
  ClusterSecret s = Secret();
  std::string good = SignJwt(s, R"({"sub":"u"})");
  size_t a = good.find('.'), b = good.rfind('.');
  std::string head = good.substr(0, a), body = good.substr(a + 1, b - a - 1),
              sig = good.substr(b + 1);
  auto signed_with = [&](const std::string& header_json, const std::string& payload) {
    std::string hp = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload);
    return hp + "." + Base64UrlEncode(s.Mac(hp));
  };
  std::string flipped = sig;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  const std::vector<std::string> bad = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      head + "." + body,                        // two parts
      head + "." + body + ".",                  // empty signature (alg none style)
      "." + body + "." + sig,                   // empty header
      head + ".." + sig,                        // empty payload
      head + "." + body + "." + flipped,        // forged signature
      head + "." + body + "." + sig + "A",      // signature of another length
      head + "=." + body + "." + sig,           // padding
      head + "." + body + "." + sig + "==",     // padding
      "!!." + body + "." + sig,                 // not base64url
      head + "." + body + "x." + sig,           // payload changed
      good + " ",                               // trailing garbage
      signed_with(R"({"alg":"none"})", "{}"),   // alg none (even signed)
      signed_with(R"({"alg":"HS512"})", "{}"),  // other algorithms
      signed_with(R"({"alg":"hs256"})", "{}"),  // case matters
      signed_with(R"({"typ":"JWT"})", "{}"),    // no alg
      signed_with(R"({"alg":256})", "{}"),      // alg not a string
      signed_with(R"(["HS256"])", "{}"),        // header not an object
      signed_with("not json", "{}"),            // header not JSON
  };
  for (const auto& t : bad) EXPECT_FALSE(VerifyJwt(s, t).ok()) << "[" << t << "]";
  // Unsigned alg=none tokens are refused even when the payload is fine.
  std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." + body + ".";
  EXPECT_FALSE(VerifyJwt(s, none).ok());
}

}  // namespace
}  // namespace aisle
