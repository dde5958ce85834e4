// Batch prefetch: the tar stream parser, the bounded cache, and the filesystem reading
// through both over the mock cluster (GetBatch answered as a node would).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <thread>

#include "common/archive/tar_header.h"
#include "fs/core/batch_cache.h"
#include "fs/core/tar_stream.h"
#include "tests/testing/fs_core_fixture.h"

namespace aisle::fs {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

// A raw ustar header block of `type` (for GNU 'L' long names and odd entry types).
std::string RawHeader(const std::string& name, uint64_t size, char type) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size));
  h[156] = type;
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  return h;
}

std::string Entry(const std::string& name, const std::string& data) {
  return archive::TarFileHeader(name, data.size(), 0644, 0) + data +
         std::string(archive::TarPadding(data.size()), '\0');
}

Result<Members> Parse(const std::string& tar, size_t chunk, uint64_t max_member = 1 << 20) {
  Members got;
  TarStream ts(
      [&](const std::string& n, std::string&& d) {
        got.emplace_back(n, std::move(d));
        return Status::OK();
      },
      max_member);
  for (size_t pos = 0; pos < tar.size(); pos += chunk)
    AISLE_RETURN_IF_ERROR(ts.Feed(std::string_view(tar).substr(pos, chunk)));
  AISLE_RETURN_IF_ERROR(ts.Finish());
  return got;
}

TEST(TarStreamTest, MembersInOrderWhateverTheChunks) {
  std::string long_pax(180, 'p');  // past ustar's fields: a pax 'x' record names it
  std::string long_gnu = "dir/" + std::string(150, 'g');
  std::string tar = Entry("empty", "") + Entry("a/b.bin", std::string(1000, 'b')) +
                    Entry(long_pax, std::string(513, 'x'));
  tar += RawHeader("././@LongLink", long_gnu.size() + 1, 'L') + long_gnu + '\0';
  tar += std::string(archive::TarPadding(long_gnu.size() + 1), '\0');
  tar += RawHeader("short", 3, '0') + "gnu" + std::string(509, '\0');
  tar += RawHeader("somedir/", 0, '5');  // skipped
  tar += Entry("last", "z");
  tar += std::string(archive::kTarEndBlocks, '\0');
  Members want = {{"empty", ""},
                  {"a/b.bin", std::string(1000, 'b')},
                  {long_pax, std::string(513, 'x')},
                  {long_gnu, "gnu"},
                  {"last", "z"}};
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{511}, size_t{512}, size_t{4096}, tar.size()}) {
    auto got = Parse(tar, chunk);
    ASSERT_TRUE(got.ok()) << chunk << ": " << got.status().ToString();
    EXPECT_EQ(*got, want) << "chunk " << chunk;
  }
}

TEST(TarStreamTest, LargeMembersAreSkippedWhenAsked) {
  std::string tar = Entry("small", "s") + Entry("large", std::string(5000, 'L')) +
                    Entry("after", "a") + std::string(archive::kTarEndBlocks, '\0');
  for (size_t chunk : {size_t{1}, size_t{100}, tar.size()}) {
    Members got;
    TarStream ts(
        [&](const std::string& n, std::string&& d) {
          got.emplace_back(n, std::move(d));
          return Status::OK();
        },
        1000, /*skip_large=*/true);
    for (size_t pos = 0; pos < tar.size(); pos += chunk)
      ASSERT_TRUE(ts.Feed(std::string_view(tar).substr(pos, chunk)).ok());
    ASSERT_TRUE(ts.Finish().ok());
    EXPECT_EQ(got, (Members{{"small", "s"}, {"after", "a"}})) << chunk;
  }
}

TEST(TarStreamTest, CorruptCutOrOversizedStreamsAreErrors) {
  std::string good = Entry("m", std::string(600, 'm'));
  std::string bad = good;
  bad[0] = 'X';  // the checksum no longer matches
  EXPECT_FALSE(Parse(bad, 100).ok());
  EXPECT_FALSE(Parse(good.substr(0, 700), 100).ok());  // cut inside the body
  EXPECT_FALSE(Parse(good.substr(0, 300), 100).ok());  // cut inside the header
  EXPECT_FALSE(Parse(good, 100, 599).ok());            // bigger than asked for
  auto ok = Parse(good, 100);                          // ends at a member boundary
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 1u);
}

TEST(BatchCacheTest, BudgetVersionsAndEviction) {
  BatchCache c(1000, std::chrono::hours(1));
  EXPECT_TRUE(c.Reserve("a", "v1", 400));
  EXPECT_FALSE(c.Reserve("a", "v1", 400));  // already held
  EXPECT_TRUE(c.Reserve("b", "v1", 500));
  EXPECT_FALSE(c.Reserve("c", "v1", 200));  // over the budget (in-flight bytes count)
  EXPECT_EQ(c.used(), 900u);
  EXPECT_EQ(c.MarkInFlight({"a", "b"}).size(), 2u);
  c.Fill("a", std::string(400, 'a'));
  c.Fill("b", std::string(499, 'b'));  // not the listed size: dropped
  EXPECT_EQ(c.used(), 400u);
  EXPECT_EQ(c.Take("b", "v1", 500, {}), nullptr);
  auto a = c.Take("a", "v1", 400, {});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a, std::string(400, 'a'));
  EXPECT_EQ(c.used(), 0u);  // read: it left the cache
  EXPECT_EQ(c.Take("a", "v1", 400, {}), nullptr);
  // Another version than the one listed at open is never served, and is dropped.
  ASSERT_TRUE(c.Reserve("d", "v1", 10));
  c.MarkInFlight({"d"});
  c.Fill("d", std::string(10, 'd'));
  EXPECT_EQ(c.Take("d", "v2", 10, {}), nullptr);
  EXPECT_FALSE(c.Holds("d"));
  EXPECT_EQ(c.stats().stale, 1u);
  // A queued entry a reader asks for is cancelled: its batch leaves it out.
  ASSERT_TRUE(c.Reserve("q", "v1", 10));
  ASSERT_TRUE(c.Reserve("r", "v1", 10));
  EXPECT_EQ(c.Take("q", "v1", 10, std::chrono::seconds(5)), nullptr);
  EXPECT_EQ(c.MarkInFlight({"q", "r"}), std::vector<std::string>{"r"});
  c.Fail("r");
  EXPECT_EQ(c.used(), 0u);
}

TEST(BatchCacheTest, ReaderWaitsForAFetchInFlightAndUnreadEntriesExpire) {
  BatchCache c(1 << 20, std::chrono::milliseconds(50));
  ASSERT_TRUE(c.Reserve("k", "v", 3));
  c.MarkInFlight({"k"});
  std::thread filler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    c.Fill("k", "abc");
  });
  auto got = c.Take("k", "v", 3, std::chrono::seconds(5));
  filler.join();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, "abc");
  ASSERT_TRUE(c.Reserve("old", "v", 5));
  c.MarkInFlight({"old"});
  c.Fill("old", "12345");
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_TRUE(c.Reserve("new", "v", 1));  // expiry runs on the next reservation
  EXPECT_FALSE(c.Holds("old"));
  EXPECT_EQ(c.used(), 1u);
  EXPECT_EQ(c.stats().expired, 1u);
}

class FsBatchTest : public FsCoreTest {
 public:
  using FsCoreTest::Make;
  using FsCoreTest::ReadAll;
  using FsCoreTest::ReadDirNames;
  using FsCoreTest::Walk;
  void SetUp() override {
    FsCoreTest::SetUp();
    opts_.prefetch = true;
    for (int i = 0; i < 60; ++i) {
      std::string n = "d/f" + std::to_string(100 + i);
      data_[n] = std::string(1000 + i, static_cast<char>('a' + i % 26));
      client_.AddObject("b", n, data_[n]);
    }
  }
  std::string Read(Filesystem& fs, const std::string& name) {
    auto e = Walk(fs, {"b", "d", name});
    EXPECT_TRUE(e.ok()) << name;
    return e.ok() ? ReadAll(fs, e->attr.ino) : "";
  }
  // Waits until `n` entries were fetched ahead.
  void WaitHeld(Filesystem& fs, size_t n) {
    for (int i = 0; i < 500 && fs.batch_cache()->ready() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::map<std::string, std::string> data_;
};

TEST_F(FsBatchTest, SequentialReaderIsServedFromBatches) {
  auto fs = Make();
  // The first open has the directory listed off the reader's path; the next one, with the
  // listing there, has the siblings that follow fetched ahead.
  EXPECT_EQ(Read(*fs, "f100"), data_["d/f100"]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Read(*fs, "f101"), data_["d/f101"]);
  EXPECT_EQ(fs->batch_cache()->size(), 0u);  // one open is not yet a reader going in order
  EXPECT_EQ(Read(*fs, "f102"), data_["d/f102"]);
  WaitHeld(*fs, 32);  // the window starts at 16 files' worth, twice, and grows with the run
  int gets = client_.get_calls;
  for (auto& [n, d] : data_) {
    if (n > "d/f102") {
      EXPECT_EQ(Read(*fs, n.substr(2)), d) << n;
    }
  }
  // This reader is faster than the batches: past the first window it can overtake them (each
  // file it overtakes is read as usual, so the counts depend on timing).
  EXPECT_LT(client_.get_calls - gets, 45);
  EXPECT_GE(client_.batch_calls.load(), 1);
  EXPECT_GE(fs->batch_cache()->stats().hits, 12u);
  EXPECT_EQ(fs->batch_cache()->stats().hits + (client_.get_calls - gets), 57u);
}

TEST_F(FsBatchTest, ListedDirectoryIsWarmedWholeForAShuffledReader) {
  auto fs = Make();
  auto d = Walk(*fs, {"b", "d"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(ReadDirNames(*fs, d->attr.ino).size(), 62u);
  WaitHeld(*fs, 60);
  EXPECT_EQ(client_.batch_entries.load(), 60);
  std::vector<std::string> order;
  for (auto& [n, _] : data_) order.push_back(n);
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  int gets = client_.get_calls;
  for (auto& n : order) EXPECT_EQ(Read(*fs, n.substr(2)), data_[n]) << n;
  EXPECT_EQ(client_.get_calls - gets, 0);
  EXPECT_EQ(fs->batch_cache()->used(), 0u);  // every entry read left the cache
}

TEST_F(FsBatchTest, OverwrittenObjectIsReadAtItsNewVersion) {
  opts_.attr_timeout = opts_.entry_timeout = opts_.dir_timeout = 0;  // every lookup re-lists
  auto fs = Make();
  auto d = Walk(*fs, {"b", "d"});
  ASSERT_TRUE(d.ok());
  ReadDirNames(*fs, d->attr.ino);
  WaitHeld(*fs, 60);
  std::string fresh(1005, 'Z');  // same size as the cached bytes: only the version differs
  client_.AddObject("b", "d/f105", fresh);
  EXPECT_EQ(Read(*fs, "f105"), fresh);
  EXPECT_EQ(fs->batch_cache()->stats().stale, 1u);
  EXPECT_EQ(Read(*fs, "f106"), data_["d/f106"]);
}

TEST_F(FsBatchTest, PrefetchOffOrNoGetBatchReadsAsBefore) {
  client_.batches_unsupported = true;  // e.g. an older cluster: every batch entry fails
  auto fs = Make();
  for (auto& [n, d] : data_) EXPECT_EQ(Read(*fs, n.substr(2)), d) << n;
  EXPECT_GE(client_.get_calls.load(), 60);
  opts_.prefetch = false;
  auto off = Make();
  EXPECT_EQ(off->batch_cache(), nullptr);
  EXPECT_EQ(Read(*off, "f100"), data_["d/f100"]);
}

// A shard of 300 small members and one big one, listed (ls): a plain .tar is fetched whole
// with one GET (the big member passed over in the stream), another format member by member
// with GetBatch. Lookups by name are answered from the member listing.
void ShardByName(FsBatchTest& t, MockClusterClient& client, const std::string& shard, bool whole) {
  std::map<std::string, std::string> members;
  std::string tar;
  for (int i = 0; i < 300; ++i) {
    std::string n = "m" + std::to_string(1000 + i);
    members[n] = std::string(64, static_cast<char>('0' + i % 10));
    if (i == 150) members["big"] = std::string(2 << 20, 'B');
  }
  for (auto& [n, d] : members) tar += Entry(n, d);
  tar += std::string(archive::kTarEndBlocks, '\0');
  client.AddObject("b", shard, tar);
  for (auto& [n, d] : members) client.AddMember("b", shard, n, d);
  auto fs = t.Make();
  std::vector<std::string> order;
  for (auto& [n, _] : members) order.push_back(n);
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  auto first = t.Walk(*fs, {"b", shard, order[0]});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(fs->batch_cache()->size(), 0u);  // a lookup fetches no member ahead
  auto dir = t.Walk(*fs, {"b", shard});
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(t.ReadDirNames(*fs, dir->attr.ino).size(), 303u);
  t.WaitHeld(*fs, 300);  // the listed (small) shard is fetched whole
  EXPECT_EQ(client.batch_calls.load() == 0, whole);
  int lists = client.list_calls, gets = client.get_calls;
  for (auto& n : order) {
    auto e = t.Walk(*fs, {"b", shard, n});
    ASSERT_TRUE(e.ok()) << n;
    EXPECT_EQ(t.ReadAll(*fs, e->attr.ino), members[n]) << n;
  }
  EXPECT_EQ(client.list_calls - lists, 0);  // every lookup from the cached member listing
  EXPECT_GT(client.get_calls - gets, 0);    // the big member, read as usual
  EXPECT_EQ(fs->batch_cache()->stats().hits, 300u);
  EXPECT_FALSE(t.Walk(*fs, {"b", shard, "nope"}).ok());
}

TEST_F(FsBatchTest, PlainTarShardIsFetchedWholeForLookupsByName) {
  ShardByName(*this, client_, "s.tar", true);
}

TEST_F(FsBatchTest, OtherShardsAreFetchedInBatchesForLookupsByName) {
  ShardByName(*this, client_, "s.tgz", false);
}

}  // namespace
}  // namespace aisle::fs
