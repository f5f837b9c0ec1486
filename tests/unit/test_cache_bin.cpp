// The cache bin's arithmetic (core/small/thread_heap.h): a top pointer and
// the low 32 bits of the array's bounds. Comparing low halves is exact for
// an array far smaller than 4 GiB, wherever it lies: checked here on arrays
// placed across a 4 GiB boundary (addresses only, never dereferenced).
#include <gtest/gtest.h>

#include <cstdint>

#include "core/small/thread_heap.h"

using namespace hakmem;

namespace {

FreeNode** at(uintptr_t a) { return reinterpret_cast<FreeNode**>(a); }

TEST(CacheBin, CountsAndBoundsAnywhere) {
  const uint32_t limits[] = {1, 16, 33, 1024};
  // Arrays that start before, end at, cross and start at a 4 GiB boundary.
  for (uint32_t limit : limits) {
    const uintptr_t bases[] = {0x7f0012345000, uintptr_t{5} << 32, (uintptr_t{5} << 32) - 8 * uintptr_t{limit},
                               (uintptr_t{5} << 32) - 8, (uintptr_t{5} << 32) - 8 * uintptr_t{limit / 2 + 1}};
    for (uintptr_t base : bases) {
      CacheBin b = make_bin(at(base), limit, 0);
      EXPECT_EQ(bin_limit(b), limit);
      for (uint32_t n = 0; n <= limit; ++n) {
        b.top = at(base) + n;
        ASSERT_EQ(bin_count(b), n) << std::hex << base << " limit " << std::dec << limit;
        ASSERT_EQ(bin_slots(b), at(base));
        // What the fast paths compare: empty exactly at the start, full exactly at the end.
        ASSERT_EQ(low32(b.top) == b.base_low, n == 0);
        ASSERT_EQ(low32(b.top) == b.end_low, n == limit);
      }
    }
  }
}

// A class the thread has not used: no array, and the bin reads as empty
// (malloc takes its slow path) and as full (a free would flush first).
TEST(CacheBin, UnusedClassIsEmptyAndFull) {
  CacheBin b{};
  EXPECT_EQ(bin_count(b), 0u);
  EXPECT_EQ(bin_limit(b), 0u);
  EXPECT_EQ(low32(b.top), b.base_low);
  EXPECT_EQ(low32(b.top), b.end_low);
}

}  // namespace
