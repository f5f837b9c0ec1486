// Size classes for small objects: a constexpr table and an O(1) lookup.
//
// 16..256 in steps of 16 (the sizes programs ask for most, so the waste is
// at most 15 bytes), then four classes per doubling up to kMaxSmallSize
// (waste at most 25%). There is no 8-byte class: every small object keeps
// glibc's 16-byte alignment, and the double-free guard needs the second word.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem {

inline constexpr size_t kMaxSmallSize = 32768;
inline constexpr unsigned kFineClasses = 16;  // 16, 32, ..., 256
inline constexpr unsigned kNumClasses = kFineClasses + 4 * 7;  // 256 -> 32768

namespace detail {
constexpr unsigned log2_floor(size_t v) {
  unsigned r = 0;
  while (v >>= 1) ++r;
  return r;
}
struct ClassTable {
  uint32_t size[kNumClasses]{};
  // Lookup table indexed by (n + 15) / 16 for n <= 1024.
  uint8_t small_lookup[1024 / 16 + 1]{};
};
constexpr ClassTable make_class_table() {
  ClassTable t{};
  unsigned c = 0;
  for (unsigned i = 1; i <= kFineClasses; ++i) t.size[c++] = i * 16;
  for (size_t base = 256; base < kMaxSmallSize; base *= 2)
    for (unsigned q = 1; q <= 4; ++q) t.size[c++] = static_cast<uint32_t>(base + q * base / 4);
  unsigned cls = 0;
  for (unsigned i = 0; i <= 1024 / 16; ++i) {
    size_t n = i * 16;
    while (t.size[cls] < n) ++cls;
    t.small_lookup[i] = static_cast<uint8_t>(cls);
  }
  return t;
}
inline constexpr ClassTable kTable = make_class_table();
}  // namespace detail

inline constexpr const uint32_t (&kClassSize)[kNumClasses] = detail::kTable.size;

inline constexpr size_t kLookupMax = 1024;

// n in [0, kLookupMax].
[[gnu::always_inline]] inline unsigned size_to_class_lookup(size_t n) { return detail::kTable.small_lookup[(n + 15) >> 4]; }

// n in [0, kMaxSmallSize]; 0 maps to the smallest class.
[[gnu::always_inline]] inline unsigned size_to_class(size_t n) {
  if (n <= kLookupMax) return size_to_class_lookup(n);
  // Four classes per doubling above 256: class = 16 + 4*(log2(n-1) - 8) + quarter.
  size_t m = n - 1;
  unsigned lg = 63u - static_cast<unsigned>(__builtin_clzll(m));  // 10..14
  unsigned quarter = static_cast<unsigned>(m >> (lg - 2)) & 3;  // which quarter of [2^lg, 2^(lg+1))
  return kFineClasses + 4 * (lg - 8) + quarter;
}

constexpr size_t class_size(unsigned c) { return kClassSize[c]; }

static_assert(kClassSize[0] == 16 && kClassSize[kFineClasses - 1] == 256);
static_assert(kClassSize[kNumClasses - 1] == kMaxSmallSize);
static_assert(detail::kTable.small_lookup[1] == 0 && detail::kTable.small_lookup[64] == 23);

}  // namespace hakmem
