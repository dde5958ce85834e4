// fs/core prefetching: readahead windows, streams (one range GET serving sequential reads,
// splicing, stashed bytes, idle close, fallbacks). MockClusterClient; no FUSE, no sockets.
#include "fs/core/prefetcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <random>
#include <thread>

#include "tests/testing/fs_mock_cluster_client.h"

namespace aisle::fs {
namespace {

class PrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(7);
    data_.resize(40 << 20);
    for (auto& c : data_) c = static_cast<char>(rng());
    client_.AddBucket("b");
    client_.AddObject("b", "obj", data_);
  }
  // A prefetcher of "obj" that serves forward reads from a stream (PrefetchOptions::stream).
  std::unique_ptr<Prefetcher> Streaming() {
    PrefetchOptions po;
    po.stream = true;
    return std::make_unique<Prefetcher>(client_, pool_, BufferPool::Create(64 << 20),
                                        ObjectRef{"b", "obj", "", ""}, data_.size(), po);
  }
  MockClusterClient client_;
  TaskPool pool_{8};
  std::string data_;
};

TEST_F(PrefetcherTest, SequentialReadsGrowTheWindow) {
  PrefetchOptions po;
  po.max_window = 16 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string out(data_.size(), '\0');
  size_t chunk = 128 << 10;
  for (size_t off = 0; off < data_.size(); off += chunk) {
    auto n = p.Read(off, chunk, out.data() + off);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, std::min(chunk, data_.size() - off));
  }
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(p.window(), 16u << 20);
  // 40 MiB in parts that grow to 4 MiB: far fewer requests than the 320 kernel reads.
  EXPECT_LT(p.requests(), 40u);
  char b;
  EXPECT_EQ(*p.Read(data_.size(), 1, &b), 0u);
}

TEST_F(PrefetcherTest, RandomReadsAreBounded) {
  PrefetchOptions po;
  po.random_read = 64 << 10;
  po.slack = 1 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string buf(4096, '\0');
  for (int i = 1; i < 50; ++i) {
    uint64_t off = ((i * 7) % 13) * (3 << 20) + 12345;  // each read >= 3 MiB from the last
    auto n = p.Read(off, 4096, buf.data());
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(buf, data_.substr(off, 4096));
  }
  EXPECT_LE(client_.max_get_len, 64u << 10);
}

TEST_F(PrefetcherTest, OutOfOrderReadaheadStaysSequential) {
  PrefetchOptions po;
  po.max_window = 8 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string out(data_.size(), '\0');
  // The kernel's parallel readahead: 1 MiB requests, each group of four in reverse order.
  const uint64_t mb = 1 << 20;
  for (uint64_t g = 0; g < data_.size() / mb; g += 4) {
    for (int k = 3; k >= 0; --k) {
      uint64_t off = (g + k) * mb;
      auto n = p.Read(off, mb, out.data() + off);
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, mb);
    }
  }
  EXPECT_TRUE(out == data_);
  EXPECT_LT(p.requests(), 40u);  // no thrashing: the window was never dropped
}

TEST_F(PrefetcherTest, PartDroppedBeforeItsFetchStillServesItsReader) {
  // Reader A waits for parts that a random read in another thread drops before the pool has
  // started them: A must still get its bytes (a short count would look like the end of file).
  TaskPool one(1);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  one.Submit([opened] { opened.wait(); });  // holds the only pool thread
  Prefetcher p(client_, one, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), PrefetchOptions{});
  const uint64_t mb = 1 << 20;
  std::string a(mb, '\0');
  Result<size_t> ra = size_t{0};
  std::thread reader([&] { ra = p.Read(2 * mb, mb, a.data()); });  // parts queued behind the gate
  while (p.requests() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The far read drops A's parts at once, then waits for its own part behind them.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.set_value();
  });
  std::string b(4096, '\0');
  ASSERT_EQ(*p.Read(30 * mb, 4096, b.data()), 4096u);
  opener.join();
  reader.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_EQ(*ra, mb);
  EXPECT_EQ(a, data_.substr(2 * mb, mb));
}

TEST_F(PrefetcherTest, StreamServesSequentialReadsFromOneRangeGet) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < data_.size(); off += mb) {
    auto n = p.Read(off, mb, out.data() + off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, mb);
  }
  EXPECT_TRUE(out == data_);
  // The first read goes through the window; every later one comes from one open range.
  EXPECT_EQ(client_.open_range_calls, 1);
  EXPECT_EQ(client_.stream_reads, 39);
  EXPECT_LE(client_.get_calls, 4);
  char b;
  EXPECT_EQ(*p.Read(data_.size(), 1, &b), 0u);
  // A jump is a bounded random read; reading on from there opens a new stream.
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(7 * mb + 5, 4096, buf.data()), 4096u);
  EXPECT_EQ(buf.substr(0, 4096), data_.substr(7 * mb + 5, 4096));
  ASSERT_EQ(*p.Read(7 * mb + 5 + 4096, mb, buf.data()), mb);
  EXPECT_EQ(buf, data_.substr(7 * mb + 5 + 4096, mb));
  EXPECT_EQ(client_.open_range_calls, 2);
  EXPECT_EQ(p.streams(), 2u);
}

TEST_F(PrefetcherTest, ReadsAtTheStreamAreSplicedIntoAPipe) {
  // Once a stream is open, a read at its position moves its bytes into the pipe; anywhere
  // else, or with no stream, it is not served (the caller reads as usual).
  client_.break_streams_after = 5;  // the stream serves 5 reads, then breaks
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_GE(::fcntl(fds[1], F_SETPIPE_SZ, 2 * mb), static_cast<int>(mb));
  bool served = true, full = false;
  ASSERT_TRUE(p.SpliceRead(0, mb, fds[1], &served, &full).ok());
  EXPECT_FALSE(served);  // no stream yet
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(0, mb, buf.data()), mb);
  ASSERT_EQ(*p.Read(mb, mb, buf.data()), mb);  // opens the stream (its read 1)
  for (uint64_t off = 2 * mb; off < 4 * mb; off += mb) {
    auto n = p.SpliceRead(off, mb, fds[1], &served, &full);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_TRUE(served);
    ASSERT_EQ(*n, mb);
    ASSERT_EQ(::read(fds[0], buf.data(), mb), static_cast<ssize_t>(mb));
    EXPECT_TRUE(buf == data_.substr(off, mb)) << off;
  }
  EXPECT_EQ(client_.stream_splices, 2);
  ASSERT_TRUE(p.SpliceRead(9 * mb, mb, fds[1], &served, &full).ok());
  EXPECT_FALSE(served);  // not at the stream
  // A pipe that fills up: a short splice, and Read goes on at the stream from there.
  client_.pipe_room = 300000;
  auto n = p.SpliceRead(4 * mb, mb, fds[1], &served, &full);
  ASSERT_TRUE(n.ok() && served);
  EXPECT_TRUE(full);
  ASSERT_EQ(*n, 300000u);
  ASSERT_EQ(::read(fds[0], buf.data(), *n), static_cast<ssize_t>(*n));
  ASSERT_EQ(*p.Read(4 * mb + *n, mb - *n, buf.data() + *n), mb - *n);
  EXPECT_TRUE(buf == data_.substr(4 * mb, mb));
  client_.pipe_room = 0;
  // The stream breaks while splicing: an error; reading that range again gets its bytes.
  EXPECT_FALSE(p.SpliceRead(5 * mb, mb, fds[1], &served, &full).ok());
  ASSERT_EQ(*p.Read(5 * mb, mb, buf.data()), mb);
  EXPECT_TRUE(buf == data_.substr(5 * mb, mb));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(PrefetcherTest, StreamTakesReadaheadOutOfOrderFromParallelThreads) {
  // The kernel's readahead: after the first reads, 1 MiB requests queued in order and taken by
  // 4 daemon threads that race, reversed in groups of four besides. A read ahead of the stream
  // stashes the bytes before it for the reads still on their way: nothing is fetched twice.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < 4 * mb; off += mb) {  // the stream opens at the second read
    ASSERT_EQ(*p.Read(off, mb, out.data() + off), mb);
  }
  // The kernel keeps at most its readahead window (8 MiB here) of requests in flight.
  std::atomic<int> bad{0};
  for (uint64_t w = 4; w < data_.size() / mb; w += 8) {
    std::vector<uint64_t> order;
    for (uint64_t g = w; g < std::min<uint64_t>(w + 8, data_.size() / mb); g += 4) {
      for (int k = 3; k >= 0; --k) order.push_back((g + k) * mb);
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (size_t i; (i = next++) < order.size();) {
          auto n = p.Read(order[i], mb, out.data() + order[i]);
          if (!n.ok() || *n != mb) ++bad;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(client_.open_range_calls, 1);
  EXPECT_LE(client_.get_calls, 4);  // the first read's window parts
  EXPECT_EQ(p.stashed(), 0u);       // every stashed byte was taken by its read
}

TEST_F(PrefetcherTest, SmallReadsTakeStashedBytesInAnyOrder) {
  // 128 KiB requests (the kernel's size when the readahead could not be raised) arriving out
  // of order: every stashed byte serves its read, whichever part of a buffer goes first.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20, k128 = 128 << 10;
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(0, mb, buf.data()), mb);
  ASSERT_EQ(*p.Read(mb, mb, buf.data()), mb);  // the stream opens; it is at 2 MiB
  int gets = client_.get_calls;
  for (uint64_t off : {2 * mb + 2 * k128, 2 * mb + k128, 2 * mb, 2 * mb + 3 * k128}) {
    ASSERT_EQ(*p.Read(off, k128, buf.data()), k128);
    EXPECT_EQ(buf.substr(0, k128), data_.substr(off, k128)) << off;
  }
  EXPECT_EQ(client_.get_calls, gets);  // all from the stream and its stash
  EXPECT_EQ(p.stashed(), 0u);
}

TEST_F(PrefetcherTest, ReadingOnBehindTheStreamGetsReadahead) {
  // A reader that moves back a few MiB and reads on: the first read fetches just its bytes,
  // the next one opens a stream there, not one GET per read.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20, k128 = 128 << 10;
  std::string buf(mb, '\0');
  for (uint64_t off = 0; off < 12 * mb; off += mb) ASSERT_EQ(*p.Read(off, mb, buf.data()), mb);
  int gets = client_.get_calls;
  for (uint64_t off = 4 * mb; off < 8 * mb; off += k128) {
    ASSERT_EQ(*p.Read(off, k128, buf.data()), k128);
    ASSERT_EQ(buf.substr(0, k128), data_.substr(off, k128)) << off;
  }
  EXPECT_EQ(client_.get_calls - gets, 1);  // 32 reads
  EXPECT_EQ(client_.open_range_calls, 2);
}

TEST_F(PrefetcherTest, CloseIdleStreamOnlyWhenUnusedSince) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string buf(1 << 20, '\0');
  ASSERT_EQ(*p.Read(0, buf.size(), buf.data()), buf.size());
  ASSERT_EQ(*p.Read(1 << 20, buf.size(), buf.data()), buf.size());  // the stream opens
  auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.CloseIdleStream(now - std::chrono::seconds(10)));  // used since then
  EXPECT_TRUE(p.CloseIdleStream(now + std::chrono::seconds(1)));
  EXPECT_FALSE(p.CloseIdleStream(now + std::chrono::seconds(1)));  // none open any more
  ASSERT_EQ(*p.Read(2 << 20, buf.size(), buf.data()), buf.size());
  EXPECT_EQ(buf, data_.substr(2 << 20, buf.size()));
  EXPECT_EQ(client_.open_range_calls, 2);
}

TEST_F(PrefetcherTest, BrokenStreamFallsBackToTheWindowAndReopens) {
  client_.break_streams_after = 3;  // e.g. a node restart mid-stream, every fourth read
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t chunk = 768 << 10;
  for (uint64_t off = 0; off < data_.size(); off += chunk) {
    auto n = p.Read(off, chunk, out.data() + off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, std::min<uint64_t>(chunk, data_.size() - off));
  }
  EXPECT_TRUE(out == data_);
  EXPECT_GT(client_.open_range_calls, 5);  // each break: that read from the window, then anew
}

TEST_F(PrefetcherTest, ClientWithoutStreamsReadsThroughTheWindow) {
  client_.streams_unsupported = true;  // e.g. an https endpoint
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < data_.size(); off += mb) {
    ASSERT_EQ(*p.Read(off, mb, out.data() + off), mb);
  }
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(client_.open_range_calls, 1);  // asked once for this file
  EXPECT_LT(client_.get_calls, 20);        // the window's growing parts, not one GET per read
}

TEST_F(PrefetcherTest, StreamThatCannotOpenIsAnError) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string buf(1 << 20, '\0');
  ASSERT_TRUE(p.Read(0, buf.size(), buf.data()).ok());
  client_.FailNext(1, Status::Unavailable("node down"));  // the open (already retried)
  auto r = p.Read(buf.size(), buf.size(), buf.data());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  // The node is back: the same read goes on.
  ASSERT_EQ(*p.Read(buf.size(), buf.size(), buf.data()), buf.size());
  EXPECT_EQ(buf, data_.substr(buf.size(), buf.size()));
}

}  // namespace
}  // namespace aisle::fs
