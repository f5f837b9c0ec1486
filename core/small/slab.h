// Slabs: 64 KiB of one size class, cut into objects; their metadata
// (SlabMeta) and the free objects' layout (FreeNode). Metadata lives out of
// line from the objects (in the arena's table or a SuperSlab's header), so
// releasing a slab's pages never touches it.
//
// What reads what:
//   free() fast path      owner_thread_ptr, size_inverse/size_shift (object_check), guard, carved,
//                         cache_bin_offset (core/small/fast_path.h)
//   owner slow paths      local_free, remote_words, used, carved (refill, flush: core/small/)
//   decommit mechanism    release_state, idle_since_ms, released_pages, lazy_pages (decommit/release.cc)
//   the budget            resident_pages (core/budget_account.h; refill.cc, release.cc)
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/platform/memory.h"
#include "decommit/policy.h"

namespace hakmem {

struct ThreadHeap;

inline constexpr unsigned kSlabShift = 16;
inline constexpr size_t kSlabSize = size_t{1} << kSlabShift;

// A free object. The first word links it to the next free object of its
// list, encoded (core/small/free_link.h: never read or written but through it).
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
enum class SlabPlace : uint8_t { None, HeapPartial, HeapFull, PoolEmpty, PoolOrphan, HeapLazy, HeapClean };

struct alignas(64) SlabMeta {
  // What free() reads (owner_thread_ptr to obj_size), together in the first cache line.
  std::atomic<uintptr_t> owner_thread_ptr;  // thread pointer of the owning thread; 0 unless a plain owner (kOwnerParked)
  uint64_t size_inverse;                      // inverse of obj_size's odd part mod 2^64 (see object_check)
  uintptr_t obj_addr;                // address of the first object
  uintptr_t guard;                   // guard word of its free objects: a random key ^ this address
  uint32_t carved;                   // objects cut from fresh memory so far
  int32_t cache_bin_offset;                    // offset of the class's cache bin from the thread pointer
  uint16_t class_idx;
  uint8_t size_shift;                        // trailing zero bits of obj_size
  uint32_t obj_size;
  std::atomic<ThreadHeap*> owner;    // the owning heap, tagged: see kOwnerParked
  uint64_t index_multiplier;                    // ceil(2^48 / obj_size): offset -> index without dividing
  // The rest is for the slow paths.
  FreeNode* local_free;              // local free list: owner only (pool lock when unowned)
  std::atomic<uint64_t> remote_words;  // frees from other threads: bit j set when word j of the remote bitmap may have bits
  uint32_t used;                     // objects handed out, thread caches included
  uint32_t capacity;
  uint16_t index;
  SlabPlace on_list;
  decommit::ReleaseState release_state;  // what the decommit mechanism did to it (slabs with live
                                     // objects: Committed = free objects not swept yet)
  uint64_t idle_since_ms;            // when it last gained free objects or was refilled from
  SlabMeta* prev;
  SlabMeta* next;
  // Pages of the object area (bit i: the page at obj_begin + i * 4 KiB)
  // released while the slab had live objects. Every object overlapping a
  // released page is free and on no list ("parked") until the slab runs out
  // of objects and reclaims them.
  uint32_t released_pages;
  uint16_t lazy_pages;               // the subset released with MADV_FREE only
  // Pages of the object area counted in the committed-bytes account
  // (core/budget_account.h): touched since they were last released with DONTNEED.
  uint16_t resident_pages;
};

// SlabMeta::owner is more than the owning heap (heaps are 64-byte aligned):
//   h              owned by heap h
//   h | Parked     owned by h, with pages released while objects are live
//   nullptr (|P)   orphaned: its thread exited with objects still live
//   kOwnerEmpty    empty, in the pool: no object of it is live
// SlabMeta::owner_thread_ptr is h's thread pointer for a plain owner h and 0 in
// every other case (set together by set_owner). free()'s fast path compares
// owner_thread_ptr with the caller's thread pointer, so every case but a plain
// owner goes to small_free_remote, which can then afford to check what the
// fast path cannot: a free into an empty slab, or of an object on a
// released page, is a double free whose guard word is gone.
inline constexpr uintptr_t kOwnerParked = 1;
inline constexpr uintptr_t kOwnerEmptyWord = 2;
inline constexpr uintptr_t kOwnerTagBits = kOwnerParked | kOwnerEmptyWord;  // set: not a plain owner
inline ThreadHeap* const kOwnerEmpty = reinterpret_cast<ThreadHeap*>(kOwnerEmptyWord);

// Frees from threads that do not own the slab set the object's bit in the
// slab's remote bitmap (remote_bits_of, core/small/slab_lookup.h: out of
// line, kRemoteWords words per slab) and then the word's bit in
// SlabMeta::remote_words. They were a list linked through the freed objects
// before: the owner collecting it read each object in turn, each last
// written by the freeing thread's core, one dependent cache miss after the
// other (multi-thread-2: 40% of the run in those two walks). The owner now
// reads a few words and writes the objects' links, stores that do not wait
// for each other (slab_collect_remote).
inline constexpr unsigned kMinObjectSize = 16;
static_assert(sizeof(FreeNode) == kMinObjectSize, "the smallest class holds a free object's two words");
inline constexpr unsigned kRemoteWords = kSlabSize / kMinObjectSize / 64;
static_assert(kRemoteWords <= 64, "remote_words has a bit per word of the remote bitmap");

// Index of the object at byte offset off (< kSlabSize) from the slab's first object.
[[gnu::always_inline]] inline uint64_t object_index(uint64_t off, uint64_t index_multiplier) {
  return (off * index_multiplier) >> 48;
}

// Exact division test (Granlund & Montgomery): with obj_size = odd << size_shift and
// size_inverse * odd == 1 mod 2^64, rotr(off * size_inverse, size_shift) is off / obj_size when
// obj_size divides off, and larger than 2^64 / obj_size otherwise. So one
// compare of the result against `carved` rejects interior pointers, pointers
// past the carved objects and (as off wraps to a huge value) pointers into
// the header, without dividing.
[[gnu::always_inline]] inline uint64_t object_check(uint64_t off, uint64_t size_inverse, unsigned size_shift) {
  uint64_t x = off * size_inverse;
  return (x >> size_shift) | (x << ((64 - size_shift) & 63));
}

// size_inverse for obj_size's odd part: Newton's iteration doubles the correct low bits.
constexpr uint64_t odd_inverse(uint64_t odd) {
  uint64_t x = odd;  // correct to 3 bits for any odd number
  for (int i = 0; i < 5; ++i) x *= 2 - odd * x;
  return x;
}

// Byte offset of address a from the first object of slab s.
[[gnu::always_inline]] inline uint64_t object_offset(const SlabMeta* s, uintptr_t a) { return a - s->obj_addr; }

static_assert(sizeof(SlabMeta) == 128, "slab metadata: two cache lines, indexed by shift");
static_assert(offsetof(SlabMeta, obj_size) + sizeof(uint32_t) <= 64, "what free() reads fits in one cache line");

// The guard word of a free object of slab s (SlabMeta::guard).
[[gnu::always_inline]] inline uintptr_t guard_of(const SlabMeta* s) { return s->guard; }

// Pages of the object area of a slab (64 KiB / 4 KiB).
inline constexpr unsigned kMaxSlabPages = kSlabSize / os::kPageSize;

// Pages [first, last] that object idx overlaps.
inline void object_pages(const SlabMeta* s, uint64_t idx, unsigned* first, unsigned* last) {
  uint64_t b = idx * s->obj_size;
  *first = static_cast<unsigned>(b / os::kPageSize);
  *last = static_cast<unsigned>((b + s->obj_size - 1) / os::kPageSize);
}

// How many pages a page mask names. Written out: __builtin_popcount is a
// call into libgcc on the baseline x86-64 (no POPCNT), made on every
// refill that carves fresh pages (1.5 instructions per operation of the
// burst workloads).
constexpr unsigned page_count(uint32_t mask) {
  mask = mask - ((mask >> 1) & 0x55555555u);
  mask = (mask & 0x33333333u) + ((mask >> 2) & 0x33333333u);
  return (((mask + (mask >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}
static_assert(page_count(0) == 0 && page_count(1) == 1 && page_count(0xFFFF) == 16 && page_count(0xFFFFFFFFu) == 32 &&
              page_count(0x80000001u) == 2, "page_count counts bits");

inline uint32_t pages_mask(unsigned first, unsigned last) {
  return static_cast<uint32_t>(((uint64_t{1} << (last + 1)) - 1) & ~((uint64_t{1} << first) - 1));
}

// Index of the object at p (the start of an object of s).
inline uint64_t object_index_of(const SlabMeta* s, const void* p) {
  return object_index(object_offset(s, reinterpret_cast<uintptr_t>(p)), s->index_multiplier);
}

// The owner word for heap h (or nullptr), tagged if s has parked pages.
inline ThreadHeap* owner_word(const SlabMeta* s, ThreadHeap* h) {
  return reinterpret_cast<ThreadHeap*>(reinterpret_cast<uintptr_t>(h) | (s->released_pages ? kOwnerParked : 0));
}
inline ThreadHeap* owner_untagged(ThreadHeap* w) {
  return reinterpret_cast<ThreadHeap*>(reinterpret_cast<uintptr_t>(w) & ~kOwnerParked);
}

// Slab operations (core/small/slab.cc). Owner context: the owning heap's
// lock, or the pool's for an unowned slab.
// Sets the owner word and, for a plain owner, the owner's thread pointer
// that free()'s fast path compares (0 otherwise: never a thread pointer).
void set_owner(SlabMeta* s, ThreadHeap* h);
// After released_pages changed: retag the owner word.
void retag_owner(SlabMeta* s);
// released_pages is read by free() in other threads (small_free_remote).
inline void set_released_pages(SlabMeta* s, uint32_t v) { __atomic_store_n(&s->released_pages, v, __ATOMIC_RELAXED); }
// A slab with no live object starts over: nothing carved, nothing parked.
// The owner word is left alone: a pool slab's stays kOwnerEmpty; an owned
// slab that had parked pages must be retagged by its owner (retag_owner).
void slab_reset_fresh(SlabMeta* s);
// Collects the objects freed by other threads (the remote bitmap) onto the
// local free list; returns how many.
uint32_t slab_collect_remote(SlabMeta* s);
// Puts the parked objects (on released pages) back on the free list.
void slab_reclaim_pages(SlabMeta* s);
// Pages of s given back with DONTNEED (or unmapped) leave the committed-bytes account.
void slab_drop_resident(SlabMeta* s, uint32_t mask);
// Whether object p lies on a page of s released while the slab had live
// objects: such an object is free ("parked"), so freeing it is a double free.
bool object_parked(const SlabMeta* s, const void* p);

}  // namespace hakmem
