// SuperSlabs and slabs.
//
// A SuperSlab is an aligned region of g_rt.ss_size bytes serving one size
// class. Its first page(s) hold the header and the slab metadata (out of line
// from the objects, so releasing a slab never touches metadata); the rest is
// cut into 64 KiB slabs. A pointer finds its SuperSlab by masking and its slab
// by shifting: no per-object header.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "decommit/policy.h"

namespace hakmem {

struct ThreadHeap;

inline constexpr unsigned kSlabShift = 16;
inline constexpr size_t kSlabSize = size_t{1} << kSlabShift;
inline constexpr uint64_t kSuperSlabMagic = 0x68616b6d656d5353ull;  // "hakmemSS"

// A free object. The second word is the double-free guard: address ^ key
// while the object is free, cleared when it is handed out.
struct FreeNode {
  FreeNode* next;
  uintptr_t guard;
};

enum class SlabList : uint8_t { None, HeapPartial, HeapFull, PoolEmpty, PoolOrphan };

struct alignas(64) SlabMeta {
  // What free() reads, together in the first half of a cache line.
  std::atomic<ThreadHeap*> owner;    // nullptr when in the pool
  uint64_t recip;                    // ceil(2^48 / obj_size): offset -> index without dividing
  uint32_t start;                    // offset of the first object in the SuperSlab
  uint32_t carved;                   // objects cut from fresh memory so far
  uint32_t obj_size;
  uint32_t class_idx;
  // The rest is for the slow paths.
  FreeNode* free;                    // local free list: owner only (pool lock when unowned)
  std::atomic<FreeNode*> remote;     // frees from other threads
  uint32_t used;                     // objects handed out, thread caches included
  uint32_t free_count;
  uint32_t capacity;
  uint16_t index;
  SlabList list;
  SpanState span;                    // what the decommit mechanism did to it
  uint64_t idle_since_ms;
  SlabMeta* prev;
  SlabMeta* next;
  // Pages of the object area (bit i: the page at obj_begin + i * 4 KiB)
  // released while the slab had live objects. Every object overlapping a
  // released page is free and on no list ("parked") until the slab runs out
  // of objects and reclaims them.
  uint32_t released_pages;
  uint32_t lazy_pages;               // the subset released with MADV_FREE only
};

struct SuperSlab {
  uint64_t magic;
  uint32_t class_idx;
  uint32_t obj_size;
  uint64_t recip;          // ceil(2^48 / obj_size): offset -> index without dividing
  uint32_t slab_count;
  uint32_t fresh_next;     // slabs [fresh_next, slab_count) were never used
  uint32_t active;         // slabs owned by heaps or orphaned (not empty, not fresh)
  uint32_t header_bytes;   // page aligned
  SuperSlab* prev;
  SuperSlab* next;
  SlabMeta slabs[1];       // slab_count entries

  SlabMeta* slab_of(uintptr_t a) { return &slabs[(a - reinterpret_cast<uintptr_t>(this)) >> kSlabShift]; }
  char* slab_base(const SlabMeta* s) { return reinterpret_cast<char*>(this) + (size_t{s->index} << kSlabShift); }
  char* obj_begin(const SlabMeta* s) { return reinterpret_cast<char*>(this) + s->start; }
};

// SuperSlab header size for a given slab count, rounded to pages.
constexpr size_t superslab_header_bytes(size_t slab_count) {
  size_t raw = offsetof(SuperSlab, slabs) + slab_count * sizeof(SlabMeta);
  return (raw + 4095) & ~size_t{4095};
}

// Index of the object at byte offset off (< kSlabSize) from the slab's first object.
[[gnu::always_inline]] inline uint64_t object_index(uint64_t off, uint64_t recip) { return (off * recip) >> 48; }

// Byte offset of address a from the first object of slab s.
[[gnu::always_inline]] inline uint64_t object_offset(const SuperSlab* ss, const SlabMeta* s, uintptr_t a) {
  return a - reinterpret_cast<uintptr_t>(ss) - s->start;
}

static_assert(sizeof(SlabMeta) == 128, "slab metadata: two cache lines, indexed by shift");

}  // namespace hakmem
