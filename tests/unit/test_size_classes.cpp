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

TEST(SizeClasses, FourClassesPerDoublingAbove256) {
  // Reconstruct the expected table from the spec and compare all of it.
  std::vector<size_t> want;
  for (size_t s = 16; s <= 256; s += 16) want.push_back(s);
  for (size_t base = 256; base < 32768; base *= 2)
    for (size_t q = 1; q <= 4; ++q) want.push_back(base + q * base / 4);
  ASSERT_EQ(want.size(), size_t{kNumClasses});
  for (unsigned c = 0; c < kNumClasses; ++c) EXPECT_EQ(kClassSize[c], want[c]) << "class " << c;
}

TEST(SizeClasses, LookupIsSmallestFittingClassForEverySize) {
  for (size_t n = 0; n <= kMaxSmallSize; ++n) {
    unsigned c = size_to_class(n);
    ASSERT_LT(c, kNumClasses) << "n=" << n;
    ASSERT_GE(kClassSize[c], n) << "n=" << n << " class " << c << " too small";
    if (c > 0) ASSERT_LT(kClassSize[c - 1], n) << "n=" << n << " class " << c << " not the smallest";
  }
  EXPECT_EQ(size_to_class(0), 0u);
  EXPECT_EQ(size_to_class(1), 0u);
  EXPECT_EQ(size_to_class(16), 0u);
  EXPECT_EQ(size_to_class(17), 1u);
  EXPECT_EQ(size_to_class(kMaxSmallSize), kNumClasses - 1);
}

TEST(SizeClasses, WasteBounds) {
  for (size_t n = 1; n <= kMaxSmallSize; ++n) {
    size_t s = kClassSize[size_to_class(n)];
    if (n <= 256) ASSERT_LE(s - n, 15u) << n;
    else ASSERT_LE((s - n) * 4, n) << n;  // at most 25%
  }
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
