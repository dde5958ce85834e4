// Lock-free metric cells: a Counter is one relaxed atomic (recording is a single fetch_add on
// the request path), and LabeledSet keeps one cell per label value (ETL name, ...) whose
// lookups take no lock once the label has been seen.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace aisle::metrics {

// A monotonically increasing 64-bit count. Thread-safe; relaxed order (values are read only
// for reporting, never to synchronize other memory).
class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// One T (a struct of Counters) per label value. Get() probes a fixed table of atomic slots
// without locking; only the first Get() of a new value takes the mutex to insert it. Cells
// are never removed, so returned pointers stay valid for the set's lifetime. Past
// kMaxLabels distinct values every new value shares the cell labelled kOverflowLabel, which
// bounds memory and scrape size whatever names clients send.
template <class T>
class LabeledSet {
 public:
  static constexpr size_t kMaxLabels = 256;
  static constexpr std::string_view kOverflowLabel = "_other";

  LabeledSet() = default;
  LabeledSet(const LabeledSet&) = delete;
  LabeledSet& operator=(const LabeledSet&) = delete;

  T* Get(std::string_view label) {
    if (Cell* c = Find(label)) return &c->value;
    return Insert(label);
  }
  // Calls fn(label, cell) for every label seen so far, in first-use order.
  void ForEach(const std::function<void(const std::string&, const T&)>& fn) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& c : cells_) fn(c->label, c->value);
  }

 private:
  struct Cell {
    explicit Cell(std::string_view l) : label(l) {}
    std::string label;
    T value;
  };
  static constexpr size_t kSlots = kMaxLabels * 2 + 2;  // load <= 1/2: short probes

  static size_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  Cell* Find(std::string_view label) const {
    for (size_t i = Hash(label) % kSlots;; i = (i + 1) % kSlots) {
      Cell* c = slots_[i].load(std::memory_order_acquire);
      if (c == nullptr) return nullptr;
      if (c->label == label) return c;
    }
  }
  T* Insert(std::string_view label) {
    std::lock_guard<std::mutex> l(mu_);
    if (Cell* c = Find(label)) return &c->value;  // raced with another first use
    if (cells_.size() >= kMaxLabels) label = kOverflowLabel;
    if (Cell* c = Find(label)) return &c->value;
    cells_.push_back(std::make_unique<Cell>(label));
    Cell* c = cells_.back().get();
    size_t i = Hash(label) % kSlots;
    while (slots_[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) % kSlots;
    slots_[i].store(c, std::memory_order_release);  // published only once fully built
    return &c->value;
  }

  std::atomic<Cell*> slots_[kSlots] = {};
  mutable std::mutex mu_;  // guards cells_ and inserts into slots_
  std::vector<std::unique_ptr<Cell>> cells_;
};

}  // namespace aisle::metrics
