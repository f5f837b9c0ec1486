// A self-checking object for the workloads that pass objects between threads: its first
// word holds its size and 24 check bits from its address, its last byte a tag from both,
// so the thread that frees it (not the one that allocated it) can tell that the allocator
// handed it out once and kept it intact, without a table on the side.
#pragma once

#include "common.h"

namespace cmp {

constexpr size_t kMinObject = 16;

inline uint64_t object_word(const void* p, size_t size) {
  return (uint64_t{size} << 24) | ((reinterpret_cast<uintptr_t>(p) * 0x9e3779b97f4a7c15ull) >> 40);
}
inline uint8_t object_tag(const void* p, size_t size) {
  return static_cast<uint8_t>((reinterpret_cast<uintptr_t>(p) >> 4) ^ size) | 1;
}

// size >= kMinObject; every page is written (fill_block).
inline void* object_new(size_t size) {
  void* p = checked_malloc(size);
  fill_block(p, size, object_tag(p, size));
  *static_cast<uint64_t*>(p) = object_word(p, size);
  return p;
}

inline void object_delete(void* p) {
  const uint64_t word = *static_cast<const uint64_t*>(p);
  const size_t size = word >> 24;
  if (word != object_word(p, size) || size < kMinObject || size > (size_t{1} << 32) ||
      static_cast<const volatile uint8_t*>(p)[size - 1] != object_tag(p, size))
    die("object %p was corrupted", p);
  free(p);
}

}  // namespace cmp
