// Size classes for small objects: a constexpr table and an O(1) lookup.
//
// 16..256 in steps of 16 (the sizes programs ask for most, so the waste is
// at most 15 bytes), then four classes per doubling up to kMaxSmallSize
// (waste at most 25%): FAST's classes. LEAN has finer classes between 512
// and 1024 instead, where four per doubling rounded a 513-byte request to
// 640 and rounding was the largest term of its peak under pressure (issue
// 11's pattern 2, medians of 3: 63.3 MB; 61.2 with 64-byte steps, 60.2 with
// 32-byte ones; glibc 57.7). Finer classes cost memory once objects cross
// threads: each class holds its own peak of objects in flight (what one
// class frees never serves another), so every added class costs memory in
// every thread that passes objects to another (compare/'s multi-thread-2/-4
// and random-mixed-2t rows: +0.75..2 MB with 32-byte steps, growing with the
// thread count, +0.2..0.45 with 64-byte ones; nothing measurable where no
// object crosses). So LEAN starts with kLeanFineStep steps and takes
// kLeanStep ones at the first free of an object by a thread that does not
// own it (size_classes_leave_fine). The lookup is a table chosen at start
// (size_classes.cc), so malloc's size lookup stays one load. Every class is
// a multiple of 16: every small object keeps glibc's 16-byte alignment, and
// the double-free guard needs the second word.
#pragma once
#include <cstddef>
#include <cstdint>

#define HK_SMALL_HIDDEN __attribute__((visibility("hidden")))

namespace hakmem {

inline constexpr size_t kMaxSmallSize = 32768;
inline constexpr size_t kLookupMax = 1024;
inline constexpr unsigned kFineClasses = 16;  // 16, 32, ..., 256
inline constexpr uint32_t kLeanStep = 64;      // LEAN's steps in (512, 1024) once objects cross threads
inline constexpr uint32_t kLeanFineStep = 32;  // ... and until then

namespace detail {
// FAST's classes: every 16 bytes to 256, then four per doubling.
constexpr bool quarter_class(uint32_t size) {
  if (size <= 256) return size % 16 == 0;
  uint32_t base = 256;
  while (base * 2 < size) base *= 2;
  return (size - base) % (base / 4) == 0;
}
// LEAN's: every step bytes between 512 and 1024, FAST's elsewhere.
constexpr bool lean_class(uint32_t size, uint32_t step = kLeanStep) {
  if (size > 512 && size < 1024) return (size - 512) % step == 0;
  return quarter_class(size);
}
// The table holds every set (each mode leaves the other's classes unused).
constexpr bool table_class(uint32_t size) {
  return size % 16 == 0 && (quarter_class(size) || lean_class(size) || lean_class(size, kLeanFineStep));
}
constexpr unsigned count_classes(uint32_t upto) {
  unsigned n = 0;
  for (uint32_t s = 16; s <= upto; s += 16) n += table_class(s);
  return n;
}
}  // namespace detail

// Classes of at most 1024 bytes (the lookup's), then four per doubling.
inline constexpr unsigned kLookupClasses = detail::count_classes(kLookupMax);
inline constexpr unsigned kNumClasses = kLookupClasses + 4 * 5;  // 1280 -> 32768

namespace detail {
struct ClassTable {
  uint32_t size[kNumClasses]{};
  // Lookups indexed by (n + 15) / 16 for n <= 1024: the smallest class of
  // LEAN's set (with kLeanFineStep steps, or kLeanStep ones), or of FAST's,
  // that holds n.
  uint8_t lookup_lean_fine[kLookupMax / 16 + 1]{};
  uint8_t lookup_lean[kLookupMax / 16 + 1]{};
  uint8_t lookup_fast[kLookupMax / 16 + 1]{};
};
constexpr ClassTable make_class_table() {
  ClassTable t{};
  unsigned c = 0;
  for (uint32_t s = 16; s <= kLookupMax; s += 16)
    if (table_class(s)) t.size[c++] = s;
  for (size_t base = 1024; base < kMaxSmallSize; base *= 2)
    for (unsigned q = 1; q <= 4; ++q) t.size[c++] = static_cast<uint32_t>(base + q * base / 4);
  unsigned fine = 0, lean = 0, fast = 0;
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) {
    size_t n = i * 16;
    while (t.size[fine] < n || !lean_class(t.size[fine], kLeanFineStep)) ++fine;
    while (t.size[lean] < n || !lean_class(t.size[lean])) ++lean;
    while (t.size[fast] < n || !quarter_class(t.size[fast])) ++fast;
    t.lookup_lean_fine[i] = static_cast<uint8_t>(fine);
    t.lookup_lean[i] = static_cast<uint8_t>(lean);
    t.lookup_fast[i] = static_cast<uint8_t>(fast);
  }
  return t;
}
inline constexpr ClassTable kTable = make_class_table();
}  // namespace detail

inline constexpr const uint32_t (&kClassSize)[kNumClasses] = detail::kTable.size;

// The lookup in use, chosen once at start (size_classes_choose): FAST's by
// default, so that a lookup before start-up is valid too (every class exists
// in both modes; a mode only leaves some unused).
struct ClassLookup {
  uint8_t v[kLookupMax / 16 + 1];
};
HK_SMALL_HIDDEN extern ClassLookup g_class_lookup;
// The same as cache bin offsets (bin_offset, core/small/thread_heap.h): malloc's lookup.
struct BinLookup {
  uint16_t v[kLookupMax / 16 + 1];
};
HK_SMALL_HIDDEN extern BinLookup g_bin_offsets;
// LEAN's classes (lean: the fine ones) or FAST's, at start-up (core/init.cc).
void size_classes_choose(bool lean);
// LEAN's fine classes are in use: the first free of an object by a thread
// that does not own it (core/small/remote_free.cc) calls
// size_classes_leave_fine, which takes LEAN's kLeanStep classes for good.
HK_SMALL_HIDDEN extern bool g_classes_fine;
void size_classes_leave_fine_slow();
inline void size_classes_leave_fine() {
  if (__builtin_expect(__atomic_load_n(&g_classes_fine, __ATOMIC_RELAXED), 0)) size_classes_leave_fine_slow();
}

// n in [0, kLookupMax].
[[gnu::always_inline]] inline unsigned size_to_class_lookup(size_t n) {
  return __atomic_load_n(&g_class_lookup.v[(n + 15) >> 4], __ATOMIC_RELAXED);
}

// n in [0, kMaxSmallSize]; 0 maps to the smallest class.
[[gnu::always_inline]] inline unsigned size_to_class(size_t n) {
  if (n <= kLookupMax) return size_to_class_lookup(n);
  // Four classes per doubling above 1024: class = kLookupClasses + 4*(log2(n-1) - 10) + quarter.
  size_t m = n - 1;
  unsigned lg = 63u - static_cast<unsigned>(__builtin_clzll(m));  // 10..14
  unsigned quarter = static_cast<unsigned>(m >> (lg - 2)) & 3;  // which quarter of [2^lg, 2^(lg+1))
  return kLookupClasses + 4 * (lg - 10) + quarter;
}

constexpr size_t class_size(unsigned c) { return kClassSize[c]; }

// memalign's class for n bytes at a power-of-two align (16 < align <= the
// page size): the first class from n's (in the mode's lookup) whose size is
// a multiple of align, so objects at multiples of it from a page-aligned slab
// start are aligned. Any class of the table will do, whichever mode's set
// it belongs to. kNumClasses when none holds n.
inline unsigned aligned_class(size_t n, size_t align) {
  for (unsigned c = size_to_class(n > align ? n : align); c < kNumClasses; ++c)
    if (kClassSize[c] % align == 0) return c;
  return kNumClasses;
}

static_assert(kClassSize[0] == 16 && kClassSize[kFineClasses - 1] == 256);
static_assert(kClassSize[kLookupClasses - 1] == 1024);
static_assert(kClassSize[kNumClasses - 1] == kMaxSmallSize);
static_assert(kLeanStep > 0 && kLeanStep % 16 == 0, "LEAN's classes stay multiples of 16");
static_assert(kLeanFineStep > 0 && kLeanFineStep % 16 == 0 && kLeanStep % kLeanFineStep == 0,
              "LEAN's fine classes are multiples of 16 and include its others");
static_assert(kNumClasses <= 64, "a heap's used classes are one 64-bit mask");
static_assert(kClassSize[detail::kTable.lookup_fast[17]] == 320 && kClassSize[detail::kTable.lookup_fast[33]] == 640,
              "FAST: 257..320 bytes take 320, 513..640 take 640, as before");

}  // namespace hakmem
