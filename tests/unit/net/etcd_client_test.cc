// EtcdClient against a real etcd: one member started here on loopback ports (data in a temp
// dir, killed by PID at the end). A dead URL listed first checks failover between members.
#include "common/net/etcd_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

extern char** environ;

namespace aisle::etcd {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/etcd", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/etcd";
    char tmpl[] = "/tmp/aisle-etcd-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string client = "http://127.0.0.1:" + std::to_string(FreePort());
    std::string peer = "http://127.0.0.1:" + std::to_string(FreePort());
    url_ = client;
    std::vector<std::string> args = {"/usr/bin/etcd",
                                     "--data-dir=" + dir_ + "/data",
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=default=" + peer};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its log goes to a file in the temp dir, not into the test's output.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = dir_ + "/etcd.log";
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0);
    EtcdClient probe({url_});
    for (int i = 0; i < 100; i++) {
      if (probe.Range("probe").ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "etcd did not start";
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_, url_;
  pid_t pid_ = -1;
};

TEST_F(EtcdClientTest, KvTxnAndLeases) {
  // The first URL refuses connections: the client moves on to the member that answers.
  EtcdClient c({"http://127.0.0.1:" + std::to_string(FreePort()), url_});
  auto rev = c.Put("/t/a", "one");
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  ASSERT_TRUE(c.Put("/t/b", std::string("two\0bytes", 9)).ok());
  auto all = c.Range("/t/", PrefixEnd("/t/"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 2u);
  EXPECT_EQ(all->kvs[1].value, std::string("two\0bytes", 9));
  int64_t mod_a = all->kvs[0].mod_revision;

  // Campaign: create-if-absent with a lease; the second one fails and sees the holder.
  auto lease = c.LeaseGrant(2);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  std::vector<Compare> absent = {{"/t/leader", "CREATE", "EQUAL", 0, ""}};
  auto won = c.Txn(absent, {{Op::kPut, "/t/leader", "me", "", *lease}},
                   {{Op::kRange, "/t/leader", "", "", 0}});
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_TRUE(won->succeeded);
  auto lost = c.Txn(absent, {{Op::kPut, "/t/leader", "other", "", 0}},
                    {{Op::kRange, "/t/leader", "", "", 0}});
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->kvs.size(), 1u);
  EXPECT_EQ(lost->kvs[0].value, "me");
  EXPECT_EQ(lost->kvs[0].lease, *lease);

  // Fenced write: only while the leader key still carries our lease and the data is unchanged.
  std::vector<Compare> fence = {{"/t/leader", "LEASE", "EQUAL", *lease, ""},
                                {"/t/a", "MOD", "EQUAL", mod_a, ""}};
  auto w = c.Txn(fence, {{Op::kPut, "/t/a", "fenced-1", "", 0}});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->succeeded);
  auto stale = c.Txn(fence, {{Op::kPut, "/t/a", "stale", "", 0}});
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);  // mod_revision moved on

  auto ttl = c.LeaseKeepAlive(*lease);
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(*ttl, 0);
  ASSERT_TRUE(c.LeaseRevoke(*lease).ok());
  auto gone = c.LeaseKeepAlive(*lease);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 0);
  auto leader = c.Range("/t/leader");
  ASSERT_TRUE(leader.ok());
  EXPECT_TRUE(leader->kvs.empty());  // the key went with its lease
  auto after =
      c.Txn({{"/t/leader", "LEASE", "EQUAL", *lease, ""}}, {{Op::kPut, "/t/a", "late", "", 0}});
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->succeeded);

  ASSERT_TRUE(c.Delete("/t/", PrefixEnd("/t/")).ok());
  EXPECT_TRUE(c.Range("/t/", PrefixEnd("/t/"))->kvs.empty());
}

TEST_F(EtcdClientTest, NoMemberIsUnavailable) {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  EtcdClient c({url_, "http://127.0.0.1:" + std::to_string(FreePort())},
               std::chrono::milliseconds(500));
  auto r = c.Put("/x", "y");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("etcd"), std::string::npos);
}

TEST(EtcdEndpoints, Parse) {
  auto e = ParseEndpoints("http://a:1/, http://b:2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_FALSE(ParseEndpoints("").ok());
  EXPECT_FALSE(ParseEndpoints("a:1").ok());
}

}  // namespace
}  // namespace aisle::etcd
