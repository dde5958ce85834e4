// Object index benchmark tool (bench/bench_index.py drives it; docs/BENCHMARKS.md, issue #24).
//   index_bench create MP N   writes N empty objects straight into MP's bucket "b" in the
//                              object format (no fsync: fast), then removes MP's index, as a data
//                              directory from before the index would be
//   index_bench open MP       times Store::Open, lists every object (pages of 1000), times
//                              small PUTs and GETs; prints one JSON line
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/body.h"
#include "common/checksum.h"
#include "server/storage/store.h"
#include "server/storage/work_dirs.h"

namespace {

using aisle::storage::Store;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double RssMiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

std::unique_ptr<Store> OpenStore(const std::string& mp) {
  aisle::storage::StoreOptions o;
  o.mountpaths = {mp};
  auto s = Store::Open(o);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

std::string Name(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "obj/%010llu", static_cast<unsigned long long>(i));
  return b;
}

int Create(const std::string& mp, uint64_t n) {
  {
    auto store = OpenStore(mp);
    (void)store->CreateBucket("b");
  }
  const std::string bdir = mp + "/ais/b/";
  auto work = [&](uint64_t from, uint64_t step) {
    for (uint64_t i = from; i < n; i += step) {
      aisle::storage::ObjectMeta m;
      m.name = Name(i);
      m.version = 1;
      m.mtime_ns = m.atime_ns = 1;
      m.xxhash = aisle::Xxh64("");
      std::string h = m.name;
      XXH128_hash_t x = XXH3_128bits(h.data(), h.size());
      std::string hash = aisle::Hex64(x.high64) + aisle::Hex64(x.low64);
      std::string path = bdir + hash.substr(0, 2) + "/" + hash;
      std::string hdr = aisle::storage::EncodeHeader(m);
      int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd < 0 || ::write(fd, hdr.data(), hdr.size()) != static_cast<ssize_t>(hdr.size())) {
        std::perror(path.c_str());
        std::exit(1);
      }
      ::close(fd);
    }
  };
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t) ts.emplace_back(work, t, 2);
  for (auto& t : ts) t.join();
  std::filesystem::remove_all(aisle::storage::IndexDir(mp));
  std::printf("{\"created\": %llu, \"create_s\": %.2f}\n", static_cast<unsigned long long>(n),
              Since(t0));
  return 0;
}

int Open(const std::string& mp) {
  double rss0 = RssMiB();
  auto t0 = Clock::now();
  auto store = OpenStore(mp);
  double open_s = Since(t0);
  double rss_open = RssMiB();
  size_t count = store->ObjectCount();
  t0 = Clock::now();
  aisle::storage::ListOptions lo;
  lo.page_size = 1000;
  uint64_t listed = 0;
  for (;;) {
    auto page = store->List("b", lo);
    if (!page.ok()) return 1;
    listed += page->entries.size();
    if (page->next_token.empty()) break;
    lo.start_after = page->next_token;
  }
  double list_s = Since(t0);
  double rss_list = RssMiB();
  const int kOps = 2000;
  std::string data(10 * 1024, 'x');
  t0 = Clock::now();
  for (int i = 0; i < kOps; ++i) {
    aisle::StringBodyReader r(data);
    if (!store->Put("b", "small/" + std::to_string(i), r, {}).ok()) return 1;
  }
  double put_s = Since(t0);
  t0 = Clock::now();
  for (int i = 0; i < kOps; ++i) {
    auto r = store->Get("b", "small/" + std::to_string(i));
    if (!r.ok() || !aisle::storage::ReadObjectData(*r).ok()) return 1;
  }
  double get_s = Since(t0);
  std::printf(
      "{\"objects\": %zu, \"open_s\": %.3f, \"rss_start_mib\": %.1f, \"rss_open_mib\": %.1f, "
      "\"listed\": %llu, \"list_s\": %.3f, \"list_per_s\": %.0f, \"rss_list_mib\": %.1f, "
      "\"put10k_per_s\": %.0f, \"get10k_per_s\": %.0f}\n",
      count, open_s, rss0, rss_open, static_cast<unsigned long long>(listed), list_s,
      listed / list_s, rss_list, kOps / put_s, kOps / get_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "create") == 0)
    return Create(argv[2], std::stoull(argv[3]));
  if (argc == 3 && std::strcmp(argv[1], "open") == 0) return Open(argv[2]);
  std::fprintf(stderr, "usage: index_bench create MP N | index_bench open MP\n");
  return 2;
}
