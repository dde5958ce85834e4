// The ListRange message of multi-object operations as the AIStore SDK sends it, and what is
// refused before any job starts.
#include "server/native/listrange.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace aisle::api {
namespace {

ActionMsg Msg(const std::string& action, nlohmann::json value) {
  ActionMsg m;
  m.action = action;
  m.value = std::make_shared<nlohmann::json>(std::move(value));
  m.present = true;
  return m;
}

TEST(ListRangeMsg, CopyAsTheSdkSendsIt) {
  Request req;
  req.method = "POST";
  auto a = ParseListRange(req, "src",
                          Msg("copy-listrange", {{"template", "x-{0..3}"},
                                                 {"prefix", ""},
                                                 {"prepend", "p/"},
                                                 {"dry_run", false},
                                                 {"force", false},
                                                 {"latest-ver", false},
                                                 {"synchronize", false},
                                                 {"tobck", {{"name", "dst"}, {"provider", "ais"}}},
                                                 {"coer", true}}));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dst, "dst");
  EXPECT_EQ(a->prepend, "p/");
  EXPECT_TRUE(a->continue_on_error);
  EXPECT_EQ(a->tmpl.Count(), 4u);
}

TEST(ListRangeMsg, EtlWithPipelineAndRequestTimeout) {
  Request req;
  req.method = "POST";
  auto a =
      ParseListRange(req, "src",
                     Msg("etl-listrange", {{"objnames", {"a", "b"}},
                                           {"id", "e1"},
                                           {"pipeline", {"e2", "e3"}},
                                           {"request_timeout", "1m30s"},
                                           {"tobck", {{"name", "dst"}, {"provider", "ais"}}}}));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->etl, "e1");
  EXPECT_EQ(a->pipeline, (std::vector<std::string>{"e2", "e3"}));
  EXPECT_EQ(a->request_timeout_ms, 90'000);
  auto bad = [&](nlohmann::json extra) {
    nlohmann::json v = {{"objnames", {"a"}}, {"id", "e1"}, {"tobck", {{"name", "dst"}}}};
    v.update(extra);
    return ParseListRange(req, "src", Msg("etl-listrange", v));
  };
  EXPECT_FALSE(bad({{"pipeline", "e2"}}).ok());
  EXPECT_FALSE(bad({{"pipeline", {""}}}).ok());
  EXPECT_FALSE(bad({{"request_timeout", "soon"}}).ok());
  EXPECT_TRUE(bad({{"pipeline", {"e2"}}}).ok());
}

TEST(ListRangeMsg, Refusals) {
  Request del;
  del.method = "DELETE";
  Request post;
  post.method = "POST";
  EXPECT_FALSE(
      ParseListRange(del, "b", Msg("delete-listrange", {{"objnames", nlohmann::json::array()}}))
          .ok());
  EXPECT_FALSE(ParseListRange(del, "b", Msg("delete-listrange", {{"template", "x-{3..1}"}})).ok());
  EXPECT_FALSE(ParseListRange(post, "b", Msg("delete-listrange", {{"objnames", {"a"}}})).ok());
  EXPECT_FALSE(
      ParseListRange(del, "b", Msg("delete-listrange", {{"objnames", {"a"}}, {"template", "x"}}))
          .ok());
  EXPECT_TRUE(ParseListRange(del, "b", Msg("delete-listrange", {{"objnames", {"a", "b"}}})).ok());
  // copy without a destination; etl without an ETL name
  EXPECT_FALSE(ParseListRange(post, "b", Msg("copy-listrange", {{"objnames", {"a"}}})).ok());
  EXPECT_FALSE(
      ParseListRange(post, "b",
                     Msg("etl-listrange", {{"objnames", {"a"}}, {"tobck", {{"name", "d"}}}}))
          .ok());
  EXPECT_FALSE(
      ParseListRange(post, "b",
                     Msg("copy-listrange",
                         {{"objnames", {"a"}}, {"tobck", {{"name", "d"}, {"provider", "aws"}}}}))
          .ok());
}

}  // namespace
}  // namespace aisle::api
