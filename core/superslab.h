// SuperSlabs and slabs.
//
// A SuperSlab is an aligned region of g_rt.ss_size bytes serving one size
// class, cut into 64 KiB slabs. A pointer finds its slab by shifting: no
// per-object header. Its header and slab metadata are out of line from the
// objects (releasing a slab never touches metadata): for a SuperSlab cut
// from the arena, in the arena's tables, so all of its memory holds objects;
// for one mapped on its own, in its first page(s).
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

// A free object. The first word links it to the next free object of its
// list, encoded (core/free_link.h: never read or written but through it).
// The second is the double-free guard: its slab's SlabMeta::guard from the
// moment the object is carved until it is handed out, 0 while it is live.
struct FreeNode {
  uintptr_t link;
  uintptr_t guard;
};

// Where a slab is. An owned slab with free objects is on one of three lists
// of its heap, by what the sweep has done since it last gained objects:
// HeapPartial not swept yet (oldest gain first), HeapLazy swept with pages
// released by MADV_FREE only, HeapClean nothing left to do.
enum class SlabList : uint8_t { None, HeapPartial, HeapFull, PoolEmpty, PoolOrphan, HeapLazy, HeapClean };

struct alignas(64) SlabMeta {
  // What free() reads (owner_tp to obj_size), together in the first cache line.
  std::atomic<uintptr_t> owner_tp;   // thread pointer of the owning thread; 0 unless a plain owner (see kOwnerParked)
  uint64_t inv;                      // inverse of obj_size's odd part mod 2^64 (see object_check)
  uintptr_t obj_addr;                // address of the first object
  uintptr_t guard;                   // guard word of its free objects: a random key ^ this address
  uint32_t carved;                   // objects cut from fresh memory so far
  int32_t tp_off;                    // offset of the class's cache bin from the thread pointer
  uint16_t class_idx;
  uint8_t tz;                        // trailing zero bits of obj_size
  uint32_t obj_size;
  std::atomic<ThreadHeap*> owner;    // the owning heap, tagged: see kOwnerParked
  uint64_t recip;                    // ceil(2^48 / obj_size): offset -> index without dividing
  // The rest is for the slow paths.
  FreeNode* free;                    // local free list: owner only (pool lock when unowned)
  std::atomic<FreeNode*> remote;     // frees from other threads
  uint32_t used;                     // objects handed out, thread caches included
  uint32_t free_count;
  uint32_t capacity;
  uint16_t index;
  SlabList list;
  SpanState span;                    // what the decommit mechanism did to it (slabs with live
                                     // objects: Committed = free objects not swept yet)
  uint64_t idle_since_ms;            // when it last gained free objects or was refilled from
  SlabMeta* prev;
  SlabMeta* next;
  // Pages of the object area (bit i: the page at obj_begin + i * 4 KiB)
  // released while the slab had live objects. Every object overlapping a
  // released page is free and on no list ("parked") until the slab runs out
  // of objects and reclaims them.
  uint32_t released_pages;
  uint32_t lazy_pages;               // the subset released with MADV_FREE only
};

// SlabMeta::owner is more than the owning heap (heaps are 64-byte aligned):
//   h              owned by heap h
//   h | Parked     owned by h, with pages released while objects are live
//   nullptr (|P)   orphaned: its thread exited with objects still live
//   kOwnerEmpty    empty, in the pool: no object of it is live
// SlabMeta::owner_tp is h's thread pointer for a plain owner h and 0 in
// every other case (set together by set_owner). free()'s fast path compares
// owner_tp with the caller's thread pointer, so every case but a plain
// owner goes to small_free_remote, which can then afford to check what the
// fast path cannot: a free into an empty slab, or of an object on a
// released page, is a double free whose guard word is gone.
inline constexpr uintptr_t kOwnerParked = 1;
inline constexpr uintptr_t kOwnerEmptyWord = 2;
inline constexpr uintptr_t kOwnerTagBits = kOwnerParked | kOwnerEmptyWord;  // set: not a plain owner
inline ThreadHeap* const kOwnerEmpty = reinterpret_cast<ThreadHeap*>(kOwnerEmptyWord);

struct SuperSlab {
  uint64_t magic;
  uintptr_t base;          // address of its memory (the header itself may be elsewhere)
  uint32_t class_idx;
  uint32_t obj_size;
  uint64_t recip;          // ceil(2^48 / obj_size): offset -> index without dividing
  uint32_t slab_count;
  uint32_t fresh_next;     // slabs taken(fresh_next) .. taken(slab_count - 1) were never used
  uint32_t first_slab;     // where the order of taking fresh slabs starts (see taken)
  uint32_t active;         // slabs owned by heaps or orphaned (not empty, not fresh)
  uint32_t header_bytes;   // bytes of its memory taken by the header (page aligned; 0 in the arena)
  SuperSlab* prev;
  SuperSlab* next;
  // slab_count entries: in the arena's metadata table for a SuperSlab cut
  // from the arena (so free() finds them from the arena offset alone), else
  // right after this header.
  SlabMeta* slabs;

  SlabMeta* slab_of(uintptr_t a) { return &slabs[(a - base) >> kSlabShift]; }
  // The i-th slab in the order fresh slabs are taken: from first_slab on,
  // wrapping. SuperSlabs are aligned to their size, so the metadata of
  // their first slabs would otherwise sit at one offset modulo 4 KiB and
  // compete for one set of the L1 cache; starting each at another slab
  // spreads the hot metadata of every class over the cache.
  SlabMeta* taken(uint32_t i) { return &slabs[(first_slab + i) & (slab_count - 1)]; }
  char* slab_base(const SlabMeta* s) { return reinterpret_cast<char*>(base) + (size_t{s->index} << kSlabShift); }
  static char* obj_begin(const SlabMeta* s) { return reinterpret_cast<char*>(s->obj_addr); }
};

inline constexpr size_t kInlineSlabsOffset = (sizeof(SuperSlab) + 63) & ~size_t{63};

// Size of the inline header of a SuperSlab mapped on its own, slab metadata
// included, rounded to pages.
constexpr size_t superslab_header_bytes(size_t slab_count) {
  return (kInlineSlabsOffset + slab_count * sizeof(SlabMeta) + 4095) & ~size_t{4095};
}

// Index of the object at byte offset off (< kSlabSize) from the slab's first object.
[[gnu::always_inline]] inline uint64_t object_index(uint64_t off, uint64_t recip) { return (off * recip) >> 48; }

// Exact division test (Granlund & Montgomery): with obj_size = odd << tz and
// inv * odd == 1 mod 2^64, rotr(off * inv, tz) is off / obj_size when
// obj_size divides off, and larger than 2^64 / obj_size otherwise. So one
// compare of the result against `carved` rejects interior pointers, pointers
// past the carved objects and (as off wraps to a huge value) pointers into
// the header, without dividing.
[[gnu::always_inline]] inline uint64_t object_check(uint64_t off, uint64_t inv, unsigned tz) {
  uint64_t x = off * inv;
  return (x >> tz) | (x << ((64 - tz) & 63));
}

// inv for obj_size's odd part: Newton's iteration doubles the correct low bits.
constexpr uint64_t odd_inverse(uint64_t odd) {
  uint64_t x = odd;  // correct to 3 bits for any odd number
  for (int i = 0; i < 5; ++i) x *= 2 - odd * x;
  return x;
}

// Byte offset of address a from the first object of slab s.
[[gnu::always_inline]] inline uint64_t object_offset(const SlabMeta* s, uintptr_t a) { return a - s->obj_addr; }

static_assert(sizeof(SlabMeta) == 128, "slab metadata: two cache lines, indexed by shift");
static_assert(offsetof(SlabMeta, obj_size) + sizeof(uint32_t) <= 64, "what free() reads fits in one cache line");

}  // namespace hakmem
