// GetBatch: MossReq parsing in AIStore's shapes, member names, ranges, and the target route on
// a standalone target driven with in-memory requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/ml/moss_request.h"
#include "tests/testing/target_api_fixture.h"

namespace aisle::ml {
namespace {

TEST(MossReqTest, ParsesAistoreFields) {
  auto r = ParseMossReq(
      R"({"in":[{"objname":"a"},{"objname":"s.tar","bucket":"c","provider":"ais","archpath":"x/y",
          "opaque":"-_8=","start":3,"length":-1},{"uname":"ais/@#/d/e/f","objname":"z"}],
          "mime":".tar.zst","coer":true,"onob":true,"strm":true,"coloc":2})",
      "b");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->in.size(), 3u);
  EXPECT_EQ(r->in[0].bucket, "b");
  EXPECT_EQ(r->in[1].bucket, "c");
  EXPECT_EQ(r->in[1].opaque, std::string("\xfb\xff", 2));
  EXPECT_EQ(r->in[1].length, -1);
  EXPECT_EQ(r->in[2].bucket, "d");
  EXPECT_EQ(r->in[2].objname, "e/f");
  EXPECT_EQ(r->format, archive::Format::kTarZst);
  EXPECT_TRUE(r->coer && r->onob && r->strm);
  EXPECT_EQ(r->coloc, 2);
  EXPECT_EQ(NameInArchive(r->in[1], false), "c/s.tar/x/y");
  EXPECT_EQ(NameInArchive(r->in[1], true), "s.tar/x/y");
}

TEST(MossReqTest, RefusesBadInput) {
  for (const char* body :
       {"", "{", "[]", R"({"in":[]})", R"({"in":{}})", R"({"in":[{"objname":"a"}],"mime":".7z"})",
        R"({"in":[{"objname":"a","opaque":"!!"}]})", R"({"in":[{"archpath":"m"}]})",
        R"({"in":[{"objname":"a"}],"coloc":3})", R"({"in":[{"objname":"a","start":"1"}]})",
        R"({"in":[{"objname":"a"}],"strm":"yes"})", R"({"in":[{"objname":"a"}],"etl_name":1})",
        R"({"in":[{"objname":"a"}],"etl_args":"x"})"}) {
    auto r = ParseMossReq(body, "b");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
  }
  EXPECT_EQ(ParseMossReq(R"({"in":[{"objname":"a"}]})", "").status().code(),
            StatusCode::kInvalidArgument);  // no bucket anywhere
  EXPECT_EQ(ParseMossReq(R"({"in":[{"objname":"a","provider":"gcp"}]})", "b").status().code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(ParseMossReq(R"({"in":[{"objname":"a","length":-2}]})", "b").status().code(),
            StatusCode::kRangeNotSatisfiable);
}

TEST(MossReqTest, EtlExtension) {
  auto r = ParseMossReq(R"({"in":[{"objname":"a"}],"etl_name":"up","etl_args":"k=v"})", "b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->etl_name, "up");
  EXPECT_EQ(r->etl_args, "k=v");
  r = ParseMossReq(R"({"in":[{"objname":"a"}]})", "b");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->etl_name.empty());
}

TEST(MossReqTest, Ranges) {
  MossIn in;
  in.objname = "o";
  in.bucket = "b";
  auto whole = SelectRange(in, 10);
  EXPECT_EQ(*whole, std::make_pair(uint64_t{0}, uint64_t{10}));
  in.start = 4;
  in.length = -1;
  EXPECT_EQ(*SelectRange(in, 10), std::make_pair(uint64_t{4}, uint64_t{6}));
  in.length = 6;
  EXPECT_EQ(*SelectRange(in, 10), std::make_pair(uint64_t{4}, uint64_t{6}));
  in.length = 7;
  EXPECT_EQ(SelectRange(in, 10).status().code(), StatusCode::kRangeNotSatisfiable);
  in.start = 11;
  in.length = 0;
  EXPECT_EQ(SelectRange(in, 10).status().code(), StatusCode::kRangeNotSatisfiable);
}

TEST(MossReqTest, RespJsonShape) {
  MossOut o{"o", "m", "b", "ais", "", std::string("\xfb\xff", 2), 5};
  auto j = nlohmann::json::parse(MossRespJson("u1", {o}));
  EXPECT_EQ(j["uuid"], "u1");
  EXPECT_EQ(j["out"][0], nlohmann::json::parse(R"({"objname":"o","archpath":"m","bucket":"b",
      "provider":"ais","opaque":"+/8=","size":5})"));
}

class MossRouteTest : public testing::TargetApiFixture {
 protected:
  void SetUp() override { BuildApi(); }
};

TEST_F(MossRouteTest, MultipartOnStandaloneTarget) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o", "hello").status, 200);
  auto r = Do("GET", "/v1/ml/moss/b", R"({"in":[{"objname":"o"},{"objname":"nope"}],"coer":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string ctype = r.headers.Get("Content-Type");
  ASSERT_EQ(ctype.rfind("multipart/mixed; boundary=", 0), 0u);
  EXPECT_NE(r.body.find(R"("objname":"o")"), std::string::npos);
  EXPECT_NE(r.body.find("__404__/b/nope"), std::string::npos);
  EXPECT_NE(r.body.find("hello"), std::string::npos);
  r = Do("GET", "/v1/ml/moss/b", R"({"in":[{"objname":"nope"}]})");
  EXPECT_EQ(r.status, 404);
  r = Do("PUT", "/v1/ml/moss/b", R"({"in":[{"objname":"o"}]})");
  EXPECT_EQ(r.status, 405);
}

}  // namespace
}  // namespace aisle::ml
