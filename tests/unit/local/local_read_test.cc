// Local reads end to end in one process: a Store, the target's LocalReadServer with the API
// handler, and the client's OpenLocalObject over the real abstract unix socket.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "common/local_read_protocol.h"
#include "fs/client/local_object.h"
#include "server/local/local_read_server.h"
#include "server/native/local_read_handler.h"
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
  void Start(size_t max_open) {
    server_.reset();
    auto s =
        local::LocalReadServer::Start({id_, 2, max_open}, [this](const localread::OpenRequest& r) {
          if (r.object.rfind("slow", 0) == 0) std::this_thread::sleep_for(slow_);
          return api::OpenForLocalRead(ctx_, r);
        });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void Put(const std::string& name, const std::string& data) {
    StringBodyReader r(data);
    ASSERT_TRUE(store_->Put("b", name, r, {}).ok());
  }
  Result<std::unique_ptr<fs::LocalObject>> Open(const std::string& name) {
    return client_.Open(Self(), "b", name);
  }
  // This target as the client's cluster map names it.
  fs::LocalReadClient::NodeRef Self() const { return {id_, ctx_.node.Url()}; }
  static std::string ReadAll(fs::LocalObject& o) {
    std::string out(o.size() + 10, '\0');
    auto n = o.ReadAt(0, out.size(), out.data());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  // The server's count of held objects reaches `n` within 2 s.
  bool OpenObjectsReach(size_t n) {
    for (int i = 0; i < 200 && server_->open_objects() != n; ++i) std::this_thread::sleep_for(10ms);
    return server_->open_objects() == n;
  }

  aisle::testing::TempDir dir_;
  std::string id_ = UniqueId();
  std::unique_ptr<storage::Store> store_;
  api::LocalReadCounters counters_;
  api::ApiContext ctx_;
  std::unique_ptr<local::LocalReadServer> server_;
  fs::LocalReadClient client_{2000ms};
  std::chrono::milliseconds slow_{0};  // how long opens of "slow*" objects take
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
  auto r = client_.Open(Self(), "b", "missing");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  r = client_.Open(Self(), "nobucket", "x");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  r = client_.Open(Self(), "b", "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(counters_.errors.load(), 3u);
  // No target of that id on this host.
  r = client_.Open({id_ + "x", ""}, "b", "x");
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().ToString();
}

TEST_F(LocalReadTest, ANodeOfTheSameIdAtAnotherUrlIsNotTrusted) {
  // Another cluster's node may carry the same id (a copied data directory): its objects
  // must not be taken for ours.
  Put("o", "theirs");
  auto r = client_.Open({id_, "http://127.0.0.1:2"}, "b", "o");
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().ToString();
  EXPECT_NE(r.status().message().find("http://127.0.0.1:1"), std::string::npos);
  EXPECT_TRUE(OpenObjectsReach(0));
}

TEST_F(LocalReadTest, OpenObjectKeepsItsBytesUntilClosed) {
  Put("o", std::string(100000, 'a'));
  auto r = Open("o");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(OpenObjectsReach(1));
  Put("o", std::string(50, 'b'));  // overwritten, then deleted: the open file is the old one
  ASSERT_TRUE(store_->Delete("b", "o").ok());
  EXPECT_EQ(ReadAll(**r), std::string(100000, 'a'));
  r = Status::NotFound("closed");  // closing the object closes its handle on the target
  EXPECT_TRUE(OpenObjectsReach(0));
  EXPECT_EQ(server_->connections(), 1u);  // the connection is kept for the next open
}

TEST_F(LocalReadTest, ConcurrentOpensShareAFewConnections) {
  for (int i = 0; i < 20; ++i) Put("f" + std::to_string(i), std::string(1000 + i, 'a' + i % 26));
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < 50; ++k) {
        int i = (t * 7 + k) % 20;
        auto r = Open("f" + std::to_string(i));
        if (!r.ok() || ReadAll(**r) != std::string(1000 + i, 'a' + i % 26)) ++bad;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(server_->connections(), fs::LocalReadClient::kConnsPerTarget);
  EXPECT_TRUE(OpenObjectsReach(0));
  EXPECT_EQ(counters_.opens.load(), 400u);
}

TEST_F(LocalReadTest, MalformedRequestGets400AndOverLimitGets503) {
  sockaddr_un addr;
  socklen_t len = localread::MakeAddress(id_, &addr);
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), len), 0);
  for (const char* bad : {"not json", R"({"op":"steal","bucket":"b","object":"o"})"}) {
    ASSERT_TRUE(localread::SendMessage(s, bad, -1).ok());
    int fd = -1;
    auto msg = localread::ReceiveMessage(s, &fd);
    ASSERT_TRUE(msg.ok()) << msg.status().ToString();
    EXPECT_EQ(fd, -1);
    auto reply = localread::DecodeReply(*msg);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->status, 400) << bad;
  }
  ::close(s);

  Start(1);
  Put("o", "x");
  auto first = Open("o");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Open("o");
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  EXPECT_NE(second.status().message().find("too many"), std::string::npos);
  EXPECT_EQ(ReadAll(**first), "x");
  first = Status::NotFound("closed");
  ASSERT_TRUE(OpenObjectsReach(0));
  EXPECT_TRUE(Open("o").ok());
}

TEST_F(LocalReadTest, OpenObjectsOutliveATargetRestart) {
  Put("o", "still here");
  auto r = Open("o");
  ASSERT_TRUE(r.ok());
  server_.reset();  // the node stops: the descriptor stays valid
  EXPECT_EQ(ReadAll(**r), "still here");
  // Its socket is gone: not asked again for a while (reads go over HTTP meanwhile).
  EXPECT_EQ(Open("o").status().code(), StatusCode::kUnsupported);
  Start(4096);
  EXPECT_EQ(Open("o").status().code(), StatusCode::kUnsupported);
  fs::LocalReadClient fresh(2000ms);
  auto other = fresh.Open(Self(), "b", "o");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(ReadAll(**other), "still here");
}

TEST_F(LocalReadTest, TimedOutRepliesNeverServeAnotherOpen) {
  // A target slower than the client's timeout: late replies must not be taken for the
  // replies of the opens queued behind (each reply names its request).
  slow_ = 400ms;
  Put("slow", "SLOW");
  for (int i = 0; i < 8; ++i) Put("f" + std::to_string(i), "data" + std::to_string(i));
  fs::LocalReadClient impatient(250ms);
  std::atomic<int> wrong{0}, served{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < 4; ++k) {
        std::string name = (t + k) % 2 ? "slow" : "f" + std::to_string(t);
        auto r = impatient.Open(Self(), "b", name);
        if (!r.ok()) continue;
        ++served;
        if (ReadAll(**r) != (name == "slow" ? "SLOW" : "data" + std::to_string(t))) ++wrong;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
  // After a timeout the target is left alone for a while (reads go over HTTP).
  auto later = impatient.Open(Self(), "b", "f0");
  EXPECT_EQ(later.status().code(), StatusCode::kUnsupported) << later.status().ToString();
  EXPECT_TRUE(OpenObjectsReach(0));
}

TEST_F(LocalReadTest, SeveralKeptConnectionsToARestartedTargetAreReplaced) {
  slow_ = 100ms;  // concurrent opens, each holding its connection a while: 4 connections
  Put("slow", "s");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([&] { EXPECT_TRUE(Open("slow").ok()); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(server_->connections(), fs::LocalReadClient::kConnsPerTarget);
  Start(4096);  // every kept connection is dead now
  for (int i = 0; i < 4; ++i) {
    auto r = Open("slow");
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
  }
}

TEST_F(LocalReadTest, KeptConnectionToARestartedTargetIsReplaced) {
  Put("o", "v1");
  ASSERT_TRUE(Open("o").ok());  // leaves one kept connection
  Start(4096);                  // restarted between two opens: that connection is dead
  auto r = Open("o");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), "v1");
}

}  // namespace
}  // namespace aisle
