#include "cli/progress.h"

#include <cstdio>

namespace aisle::cli {

std::string FormatBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return std::to_string(n) + "B";
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, kUnits[u]);
  return buf;
}

Progress::Progress(std::string verb, uint64_t total_objects, uint64_t total_bytes, bool enabled)
    : verb_(std::move(verb)),
      total_objects_(total_objects),
      total_bytes_(total_bytes),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
      Draw();
      cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
  });
}

Progress::~Progress() { Finish(); }

void Progress::Finish() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Draw();
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Draw() {
  constexpr int kWidth = 30;
  uint64_t b = bytes();
  double frac = total_bytes_ > 0     ? static_cast<double>(b) / static_cast<double>(total_bytes_)
                : total_objects_ > 0 ? static_cast<double>(done_ + failed_) / total_objects_
                                     : 1.0;
  if (frac > 1) frac = 1;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '-');
  double secs = seconds();
  std::string rate = secs > 0 ? FormatBytes(static_cast<uint64_t>(b / secs)) + "/s" : "";
  std::string failed = failed_ > 0 ? ", " + std::to_string(failed_.load()) + " failed" : "";
  std::fprintf(stderr, "\r%s [%s] %3d%%  %llu/%llu objects%s  %s/%s  %s\x1b[K", verb_.c_str(),
               bar.c_str(), static_cast<int>(frac * 100),
               static_cast<unsigned long long>(done_ + failed_),
               static_cast<unsigned long long>(total_objects_), failed.c_str(),
               FormatBytes(b).c_str(), FormatBytes(total_bytes_).c_str(), rate.c_str());
  std::fflush(stderr);
}

}  // namespace aisle::cli
