// Size-class table and the O(1) lookup, checked exhaustively.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/small/fast_path.h"
#include "core/small/size_classes.h"
#include "core/small/superslab.h"

using namespace hakmem;

namespace {

TEST(SizeClasses, TableShape) {
  EXPECT_EQ(kMaxSmallSize, 32768u);
  EXPECT_EQ(kClassSize[0], 16u);
  EXPECT_EQ(kClassSize[kNumClasses - 1], kMaxSmallSize);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    EXPECT_EQ(kClassSize[c] % 16, 0u) << "class " << c << " size " << kClassSize[c];
    if (c) EXPECT_GT(kClassSize[c], kClassSize[c - 1]) << "class " << c;
  }
}

TEST(SizeClasses, FineClassesStep16UpTo256) {
  unsigned c = 0;
  for (size_t s = 16; s <= 256; s += 16, ++c) EXPECT_EQ(kClassSize[c], s) << "class " << c;
}

bool fast_class(size_t s) {
  if (s <= 256) return s % 16 == 0;
  size_t base = 256;
  while (base * 2 < s) base *= 2;
  return (s - base) % (base / 4) == 0;
}
bool lean_class(size_t s, size_t step) { return s > 512 && s < 1024 ? (s - 512) % step == 0 : fast_class(s); }
// The sets a lookup may be: FAST's, LEAN's fine one (at start) and LEAN's
// once objects cross threads.
enum class Set { Fast, LeanFine, Lean };
size_t lean_step(Set set) { return set == Set::LeanFine ? kLeanFineStep : kLeanStep; }
bool in_set(size_t s, Set set) { return set == Set::Fast ? fast_class(s) : lean_class(s, lean_step(set)); }

TEST(SizeClasses, TableIsBothModesSets) {
  // Reconstruct the expected table from the spec and compare all of it:
  // FAST's classes (16-byte steps to 256, then four per doubling) and
  // LEAN's (FAST's, with kLeanFineStep or kLeanStep steps instead between
  // 512 and 1024).
  std::vector<size_t> want;
  for (size_t s = 16; s <= 1024; s += 16)
    if (fast_class(s) || lean_class(s, kLeanStep) || lean_class(s, kLeanFineStep)) want.push_back(s);
  for (size_t base = 1024; base < 32768; base *= 2)
    for (size_t q = 1; q <= 4; ++q) want.push_back(base + q * base / 4);
  ASSERT_EQ(want.size(), size_t{kNumClasses});
  for (unsigned c = 0; c < kNumClasses; ++c) EXPECT_EQ(kClassSize[c], want[c]) << "class " << c;
  EXPECT_LE(kNumClasses, 64u);  // class sets are 64-bit masks
}

// One mode's lookup for every size: the smallest class of the mode's set
// that holds it, malloc's bin offsets with it, and the waste bounds.
void check_lookup(Set set) {
  size_classes_choose(set != Set::Fast);
  if (set == Set::Lean) size_classes_leave_fine();
  EXPECT_EQ(g_classes_fine, set == Set::LeanFine);
  const bool lean = set != Set::Fast;
  for (size_t n = 0; n <= kMaxSmallSize; ++n) {
    unsigned c = size_to_class(n);
    ASSERT_LT(c, kNumClasses) << "n=" << n;
    const size_t s = kClassSize[c];
    ASSERT_GE(s, n) << "n=" << n << " class " << c << " too small";
    ASSERT_TRUE(in_set(s, set)) << "n=" << n << " class " << s << " not of the mode's set";
    for (unsigned d = 0; d < c; ++d)
      if (in_set(kClassSize[d], set)) ASSERT_LT(kClassSize[d], n) << "n=" << n << " class " << s << " not the smallest";
    if (n <= kLookupMax) ASSERT_EQ(bin_offset_lookup(n), bin_offset(c)) << n;
    if (n == 0) continue;  // the smallest class
    if (n <= 256) ASSERT_LE(s - n, 15u) << n;
    else if (lean && n > 512 && n <= 1024) ASSERT_LT(s - n, lean_step(set)) << n;
    else ASSERT_LE((s - n) * 4, n) << n;  // at most 25%
  }
  EXPECT_EQ(size_to_class(0), 0u);
  EXPECT_EQ(size_to_class(1), 0u);
  EXPECT_EQ(size_to_class(16), 0u);
  EXPECT_EQ(size_to_class(17), 1u);
  EXPECT_EQ(size_to_class(kMaxSmallSize), kNumClasses - 1);
  EXPECT_EQ(kClassSize[size_to_class(320)], 320u);
  EXPECT_EQ(kClassSize[size_to_class(513)], lean ? 512 + lean_step(set) : 640u);
}

TEST(SizeClasses, LookupIsSmallestFittingClassOfEachMode) {
  check_lookup(Set::Fast);
  check_lookup(Set::LeanFine);
  check_lookup(Set::Lean);
  size_classes_choose(false);
}

// LEAN leaves its fine classes once and for good; FAST never has them.
TEST(SizeClasses, LeavingFineClassesIsOneWay) {
  size_classes_choose(true);
  EXPECT_EQ(kClassSize[size_to_class(530)], 544u);
  size_classes_leave_fine();
  EXPECT_EQ(kClassSize[size_to_class(530)], 576u);
  size_classes_leave_fine();
  EXPECT_EQ(kClassSize[size_to_class(530)], 576u);
  size_classes_choose(false);
  size_classes_leave_fine();
  EXPECT_EQ(kClassSize[size_to_class(530)], 640u);
}

// memalign (core/api.cc) takes aligned_class for 16 < align <= 4096: in
// either mode, for every size, a class that holds it and whose size is a
// multiple of align (slab starts are page-aligned), never larger than the
// one FAST's lookup would lead to.
TEST(SizeClasses, AlignedClassForEveryPowerOfTwo) {
  for (size_t align = 32; align <= 4096; align *= 2) {
    for (size_t n = 0; n <= kMaxSmallSize; ++n) {
      size_classes_choose(false);
      const unsigned fast = aligned_class(n, align);
      size_classes_choose(true);
      const unsigned lean = aligned_class(n, align);
      for (unsigned c : {fast, lean}) {
        ASSERT_LT(c, kNumClasses) << "n=" << n << " align " << align;
        ASSERT_GE(kClassSize[c], n) << "n=" << n << " align " << align;
        ASSERT_EQ(kClassSize[c] % align, 0u) << "n=" << n << " align " << align;
      }
      ASSERT_LE(lean, fast) << "n=" << n << " align " << align;
    }
  }
  size_classes_choose(false);
}

// Every class keeps glibc's 16-byte alignment: objects start at multiples
// of the class size from 16-aligned (page-aligned) slab starts.
TEST(SizeClasses, EveryClassKeeps16ByteAlignment) {
  for (unsigned c = 0; c < kNumClasses; ++c) EXPECT_EQ(kClassSize[c] % 16, 0u) << "class " << c;
}

TEST(SizeClasses, ClassSizeAccessorMatchesTable) {
  for (unsigned c = 0; c < kNumClasses; ++c) EXPECT_EQ(class_size(c), size_t{kClassSize[c]});
  static_assert(class_size(0) == 16);
}

}  // namespace

// free()'s object check (superslab.h): for every class, every byte offset in
// a slab (and offsets before its first object, which wrap around) must give
// an index below the number of carved objects exactly when the offset is the
// start of a carved object.
namespace {

TEST(ObjectCheck, ExactForEveryClassAndOffset) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const uint64_t size = kClassSize[c];
    const unsigned size_shift = static_cast<unsigned>(__builtin_ctzll(size));
    const uint64_t size_inverse = odd_inverse(size >> size_shift);
    ASSERT_EQ((size >> size_shift) * size_inverse, 1u) << "class " << c;
    const uint64_t capacity = kSlabSize / size;
    for (uint32_t carved : {uint32_t{0}, uint32_t{1}, static_cast<uint32_t>(capacity / 2), static_cast<uint32_t>(capacity)}) {
      for (int64_t off = -8192; off < static_cast<int64_t>(kSlabSize); ++off) {
        uint64_t idx = object_check(static_cast<uint64_t>(off), size_inverse, size_shift);
        bool valid = off >= 0 && static_cast<uint64_t>(off) % size == 0 && static_cast<uint64_t>(off) / size < carved;
        ASSERT_EQ(idx < carved, valid) << "class " << c << " size " << size << " offset " << off << " carved " << carved;
        if (valid) ASSERT_EQ(idx, static_cast<uint64_t>(off) / size);
      }
    }
  }
}

TEST(SizeClasses, CacheBinOffsetLookupMatchesClassLookup) {
  for (size_t n = 0; n <= kLookupMax; ++n)
    ASSERT_EQ(bin_offset_lookup(n), bin_offset(size_to_class(n))) << "size " << n;
}

}  // namespace
