// Local reads end to end in one process: a Store, the target's LocalReadServer with the API
// handler, and the client's OpenLocalObject over the real abstract unix socket.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "common/local_read_protocol.h"
#include "fs/client/local_object.h"
#include "server/api/local_read_handler.h"
#include "server/local/local_read_server.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace aisle {
namespace {

using namespace std::chrono_literals;

std::string UniqueId() {
  std::random_device rd;
  return "tLocal" + std::to_string(rd()) + std::to_string(::getpid());
}

class LocalReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = aisle::testing::OpenStore(dir_.Sub("mp"));
    ASSERT_TRUE(store_->CreateBucket("b").ok());
    ctx_.store = store_.get();
    ctx_.node = {id_, "target", "127.0.0.1", 1, 0};
    ctx_.local_reads = &counters_;
    Start(4096);
  }
  void Start(size_t max_connections) {
    server_.reset();
    auto s = local::LocalReadServer::Start(
        {id_, 2, max_connections},
        [this](const localread::OpenRequest& r) { return api::OpenForLocalRead(ctx_, r); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void Put(const std::string& name, const std::string& data) {
    StringBodyReader r(data);
    ASSERT_TRUE(store_->Put("b", name, r, {}).ok());
  }
  Result<std::unique_ptr<fs::LocalObject>> Open(const std::string& name) {
    return fs::OpenLocalObject(id_, "b", name, 2000ms);
  }
  static std::string ReadAll(fs::LocalObject& o) {
    std::string out(o.size() + 10, '\0');
    auto n = o.ReadAt(0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  // The server's connection count reaches `n` within 2 s.
  bool ConnectionsReach(size_t n) {
    for (int i = 0; i < 200 && server_->connections() != n; ++i) std::this_thread::sleep_for(10ms);
    return server_->connections() == n;
  }

  aisle::testing::TempDir dir_;
  std::string id_ = UniqueId();
  std::unique_ptr<storage::Store> store_;
  api::LocalReadCounters counters_;
  api::ApiContext ctx_;
  std::unique_ptr<local::LocalReadServer> server_;
};

TEST_F(LocalReadTest, ReadsSmallAndLargeObjectsAndRanges) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  Put("small", "hello");
  Put("dir/big", big);
  auto s = Open("small");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(ReadAll(**s), "hello");
  auto b = Open("dir/big");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->size(), big.size());
  EXPECT_FALSE((*b)->version().empty());
  EXPECT_TRUE(ReadAll(**b) == big);
  std::string part(1000, '\0');
  auto n = (*b)->ReadAt(big.size() - 400, 1000, part.data());  // short at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 400u);
  EXPECT_EQ(part.substr(0, 400), big.substr(big.size() - 400));
  n = (*b)->ReadAt(big.size() + 5, 10, part.data());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(counters_.opens.load(), 2u);
}

TEST_F(LocalReadTest, ErrorsAreTheGetErrors) {
  auto r = fs::OpenLocalObject(id_, "b", "missing", 2000ms);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  r = fs::OpenLocalObject(id_, "nobucket", "x", 2000ms);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  r = fs::OpenLocalObject(id_, "b", "", 2000ms);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(counters_.errors.load(), 3u);
  // No target of that id on this host.
  r = fs::OpenLocalObject(id_ + "x", "b", "x", 2000ms);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().ToString();
}

TEST_F(LocalReadTest, OpenObjectKeepsItsBytesUntilClosed) {
  Put("o", std::string(100000, 'a'));
  auto r = Open("o");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(ConnectionsReach(1));
  Put("o", std::string(50, 'b'));  // overwritten, then deleted: the open file is the old one
  ASSERT_TRUE(store_->Delete("b", "o").ok());
  EXPECT_EQ(ReadAll(**r), std::string(100000, 'a'));
  r = Status::NotFound("closed");  // closing the object closes its connection on the target
  EXPECT_TRUE(ConnectionsReach(0));
}

TEST_F(LocalReadTest, MalformedRequestGets400AndOverLimitGets503) {
  sockaddr_un addr;
  socklen_t len = localread::MakeAddress(id_, &addr);
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_TRUE(localread::SendMessage(s, "not json", -1).ok());
  int fd = -1;
  auto msg = localread::ReceiveMessage(s, &fd);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(fd, -1);
  auto reply = localread::DecodeReply(*msg);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 400);
  ::close(s);

  Start(1);
  Put("o", "x");
  auto first = Open("o");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Open("o");
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find("too many"), std::string::npos);
  EXPECT_EQ(ReadAll(**first), "x");
}

TEST_F(LocalReadTest, StoppingTheServerLeavesOpenObjectsReadable) {
  Put("o", "still here");
  auto r = Open("o");
  ASSERT_TRUE(r.ok());
  server_.reset();  // the node stops (or restarts): the descriptor stays valid
  EXPECT_EQ(ReadAll(**r), "still here");
  auto again = Open("o");
  EXPECT_EQ(again.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace aisle
