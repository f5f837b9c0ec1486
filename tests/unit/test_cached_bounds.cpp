// The large cache's index of cached mappings by where they begin and end
// (core/large/cached_bounds.h), against a reference map: random adds and
// removes of disjoint ranges, so that the table grows several times, keys
// collide, runs wrap around the end of the table and deletions shift later
// keys back across the wrap. After every step each range must be found by
// both its ends, and no address that bounds nothing may be found.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>

#include "core/large/cached_bounds.h"

using namespace hakmem::large;

namespace {

constexpr uintptr_t kPage = 4096;

// Stand-ins for the records: the index only stores and returns the pointers.
CachedMap* record(size_t i) { return reinterpret_cast<CachedMap*>(uintptr_t{0x1000} + i * 64); }

TEST(CachedBounds, FindsEveryRangeByBothEndsThroughGrowthAndDeletion) {
  CachedBounds index;
  std::mt19937_64 rng(14);
  // Slots of 4 pages: a range is [slot, slot + 1..3 pages), so ranges are
  // disjoint, and one range's end may sit right before the next one's start.
  constexpr size_t kSlots = 4096;
  const uintptr_t base = uintptr_t{1} << 40;
  std::map<size_t, std::pair<uintptr_t, CachedMap*>> live;  // slot -> (end, record)
  size_t next_record = 0;
  auto check_all = [&] {
    for (const auto& [slot, v] : live) {
      const uintptr_t b = base + slot * 4 * kPage;
      ASSERT_EQ(index.starting_at(b), v.second) << "slot " << slot;
      ASSERT_EQ(index.ending_at(v.first), v.second) << "slot " << slot;
    }
  };
  for (int step = 0; step < 40000; ++step) {
    const size_t slot = rng() % kSlots;
    const uintptr_t b = base + slot * 4 * kPage;
    auto it = live.find(slot);
    // Grow to about 3,000 ranges, then shrink to none, then grow again.
    const bool adding = (step / 10000) % 2 == 0;
    if (it == live.end() && adding) {
      const uintptr_t end = b + (1 + rng() % 3) * kPage;
      CachedMap* m = record(next_record++);
      ASSERT_TRUE(index.add(b, end, m));
      live[slot] = {end, m};
    } else if (it != live.end() && !adding) {
      index.remove(b, it->second.first);
      EXPECT_EQ(index.starting_at(b), nullptr);
      EXPECT_EQ(index.ending_at(it->second.first), nullptr);
      live.erase(it);
    } else if (it == live.end()) {
      EXPECT_EQ(index.starting_at(b), nullptr) << "slot " << slot << " holds nothing";
      EXPECT_EQ(index.ending_at(b + kPage), nullptr) << "slot " << slot << " holds nothing";
    }
    if (step % 997 == 0) check_all();
  }
  check_all();
  EXPECT_GE(index.table_bytes(), size_t{4096} * 16) << "the table never grew";
}

}  // namespace
