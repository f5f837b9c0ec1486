// Thread heaps and the small-object fast paths.
//
// Each thread has a ThreadHeap: per class, a bounded free list (the thread
// cache) popped and pushed with no locks and no atomics, and the slabs it
// owns. A free by the owner goes to its cache; a free by any other thread
// goes to the slab's lock-free remote list, which the owner collects.
//
// The cache bins themselves live in static TLS (tl_cache), so the fast
// paths reach them from the thread pointer without loading a heap pointer,
// and a slab names its owning thread by that thread pointer (owner_tp), which
// free() compares with its own in one instruction. Bins start empty, so the
// first malloc of a thread falls into the slow path that creates its heap:
// the fast path never asks "am I initialised?".
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/arena.h"
#include "core/free_link.h"
#include "core/lock.h"
#include "core/registry.h"
#include "core/runtime.h"
#include "core/size_classes.h"
#include "core/superslab.h"

namespace hakmem {

// A thread cache bin. room = limit - objects cached; a free that takes it
// below zero flushes half of the bin back to its slabs.
struct TcBin {
  FreeNode* head;
  int32_t room;
  uint32_t limit;
  uint32_t count() const { return static_cast<uint32_t>(static_cast<int32_t>(limit) - room); }
};

struct SlabListHead {
  SlabMeta* first;
  SlabMeta* last;
};

struct HeapBin {
  SlabMeta* current;       // slab being allocated from
  SlabListHead partial;    // owned slabs with free objects not swept since they gained them, oldest first
  SlabListHead full;       // owned slabs with nothing local (may receive remote frees)
  SlabListHead lazy;       // swept, with pages released by MADV_FREE waiting to escalate
  SlabListHead clean;      // swept, nothing due
};

// A thread's cache: every class's bin, in static TLS.
struct ThreadCache {
  TcBin bins[kNumClasses];
  // Counts owner frees down to the next time-based check (heap_tick): a
  // process that only cycles a few objects through its caches never enters
  // the slow paths, yet its idle slabs must still be released.
  uint32_t tick;
};

extern __thread ThreadCache tl_cache __attribute__((tls_model("initial-exec")));

// Who touches a heap's slabs: its owner in the slow paths only (refill, cache
// flush, tick, thread exit), and any thread's decommit sweep. Both hold
// `lock`; the owner's fast paths (its cache bins, owner_push) never do, nor
// need to: the sweep never touches cache bins, only slab free lists. The
// sweeper only try-locks, so an owner in its slow path is never kept waiting.
struct ThreadHeap {
  TcBin* tc;                // its thread's tl_cache.bins (read by statistics while the thread lives)
  uintptr_t tp;             // its thread's thread pointer: the owner_tp of the slabs it owns
  uint64_t clock_ms;        // time at the last tick or slow path: ages slabs without reading the clock
  uint64_t last_budget_ms;  // last RSS budget check from heap_tick
  uint64_t last_tick_ms;    // when the last tick ran: sets the next tick's interval
  uint32_t tick_every;      // owner frees between ticks (adapted to the free rate)
  SpinLock lock;
  HeapBin bins[kNumClasses];
  FreeNode* bin_seen[kNumClasses];  // each cache bin's head at the last look: unchanged = idle
  uint64_t bin_seen_ms;             // when that look was
  uint64_t bins_returned_ms;        // when every bin last went back to its slabs
  alignas(64) std::atomic<uint64_t> remote_classes;  // bit c: a remote free hit a slab of class c
  ThreadHeap* next_all;     // every heap ever made, for statistics
  ThreadHeap* next_free;    // recycled heaps
  bool live;
};

// The calling thread's thread pointer (%fs:0): unique among live threads.
[[gnu::always_inline]] inline uintptr_t thread_pointer() { return reinterpret_cast<uintptr_t>(__builtin_thread_pointer()); }

// Byte offset of class c's cache bin in ThreadCache::bins.
constexpr uint32_t tc_offset(unsigned c) { return c * static_cast<uint32_t>(sizeof(TcBin)); }

namespace detail {
struct TcOffsets {
  uint16_t v[kLookupMax / 16 + 1]{};
};
constexpr TcOffsets make_tc_offsets() {
  TcOffsets t{};
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) t.v[i] = static_cast<uint16_t>(tc_offset(kTable.small_lookup[i]));
  return t;
}
inline constexpr TcOffsets kTcOffsets = make_tc_offsets();
}  // namespace detail

// The cache bin offset for n in [0, kLookupMax]: malloc's size lookup.
[[gnu::always_inline]] inline size_t tc_offset_lookup(size_t n) { return detail::kTcOffsets.v[(n + 15) >> 4]; }

// Offset of tl_cache.bins from the thread pointer: the same in every thread
// (static TLS). Set at start-up; SlabMeta::tp_off adds the class's bin.
extern intptr_t g_tc_tp_off;

extern ThreadHeap g_empty_heap;
extern __thread ThreadHeap* tl_heap __attribute__((tls_model("initial-exec")));

void* small_alloc_slow(ThreadHeap* h, unsigned c);
// Pops f, the head of bin b of class c, whose link to next the fast check
// did not accept: checks it in full (aborting on a forged one).
void* small_alloc_checked(TcBin* b, FreeNode* f, FreeNode* next, unsigned c);
// Returns half of the full cache bin b to the slabs.
void small_flush(ThreadHeap* h, TcBin* b);
void heap_tick(ThreadHeap* h);
void small_free_remote(SlabMeta* s, FreeNode* f, unsigned c);
[[noreturn]] void report_bad_pointer(const void* p, const char* op);
[[noreturn]] void report_double_free(const void* p, const char* op);

// Allocates from the cache bin at byte offset off (tc_offset(class)).
[[gnu::always_inline]] inline void* small_alloc_at(size_t off) {
  TcBin& b = *reinterpret_cast<TcBin*>(reinterpret_cast<char*>(tl_cache.bins) + off);
  FreeNode* f = b.head;
  if (__builtin_expect(f != nullptr, 1)) {
    FreeNode* next = link_decode(f);
    // A link the fast check does not accept ends in a tail call, so that
    // the fast path needs no stack frame.
    if (!kEncodeLinks || link_fast_ok(f, next)) {
      b.head = next;
      b.room++;
      f->guard = 0;
      return f;
    }
    return small_alloc_checked(&b, f, next, static_cast<unsigned>(off / sizeof(TcBin)));
  }
  return small_alloc_slow(tl_heap, static_cast<unsigned>(off / sizeof(TcBin)));
}

[[gnu::always_inline]] inline void* small_alloc(unsigned c) { return small_alloc_at(tc_offset(c)); }

// The metadata of the slab holding p, or nullptr if p is not in a SuperSlab.
[[gnu::always_inline]] inline SlabMeta* slab_of(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (arena::contains(a)) return arena::slab_of(a);
  uintptr_t base = a & g_rt.ss_mask;
  return registry::is_superslab(base) ? reinterpret_cast<SuperSlab*>(base)->slab_of(a) : nullptr;
}

// The guard word of a free object of slab s (SlabMeta::guard).
[[gnu::always_inline]] inline uintptr_t guard_of(const SlabMeta* s) { return s->guard; }

// What check_object cannot see in the object itself: whether it lies in an
// empty slab or on a page released while its slab had live objects (where
// the guard word is gone). Aborts if so.
void check_object_owner(const SlabMeta* s, const void* p, const char* op);

// Checks that p is an object handed out by slab s: the start of a carved
// object, not free (realloc, malloc_usable_size; free() does the same
// inline). Aborts if not.
[[gnu::always_inline]] inline void check_object(const SlabMeta* s, const void* p, const char* op) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (__builtin_expect(!object_carved(s, a), 0)) report_bad_pointer(p, op);
  if (__builtin_expect(static_cast<const FreeNode*>(p)->guard == guard_of(s), 0)) report_double_free(p, op);
  if (__builtin_expect(reinterpret_cast<uintptr_t>(s->owner.load(std::memory_order_acquire)) & kOwnerTagBits, 0))
    check_object_owner(s, p, op);
}

// A free by the slab's owner, the thread whose thread pointer is tp: onto
// its cache bin. guard is f's guard value.
[[gnu::always_inline]] inline void owner_push(const SlabMeta* s, FreeNode* f, uintptr_t guard, uintptr_t tp) {
  TcBin& b = *reinterpret_cast<TcBin*>(tp + s->tp_off);
  link_set(f, b.head);
  f->guard = guard;
  b.head = f;
  if (__builtin_expect(--b.room < 0, 0)) return small_flush(tl_heap, &b);
  // Only a mode that releases memory needs the clock. The flag test is
  // cheaper than the counter: every free decrementing one word makes a
  // chain of dependent read-modify-writes that costs FAST ~5% of its speed.
  if (__builtin_expect(g_rt.releases, 0) && __builtin_expect(--tl_cache.tick == 0, 0)) heap_tick(tl_heap);
}

// The error paths of free(), reached by a tail call (they do not return).
[[gnu::cold]] void free_bad_pointer(void* p);
[[gnu::cold]] void free_double(void* p);

// free() of p in slab s: the same checks as check_object, written out so
// the guard value is computed once and the error paths are tail calls.
[[gnu::always_inline]] inline void small_free(SlabMeta* s, void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (__builtin_expect(!object_carved(s, a), 0)) return free_bad_pointer(p);
  FreeNode* f = static_cast<FreeNode*>(p);
  uintptr_t guard = guard_of(s);
  if (__builtin_expect(f->guard == guard, 0)) return free_double(p);
  uintptr_t tp = thread_pointer();
  if (__builtin_expect(s->owner_tp.load(std::memory_order_relaxed) == tp, 1)) return owner_push(s, f, guard, tp);
  small_free_remote(s, f, s->class_idx);
}

// Slow-path entry points shared with the rest of the core.
void heap_thread_exit(ThreadHeap* h);
void heap_flush_all(ThreadHeap* h, bool release_current);
// Releases what is due now (force: every free page and idle cache, with
// DONTNEED) in every slab: every heap's (current, partial, full, swept),
// orphaned and empty ones, and the large cache. Called with no heap lock held
// or from the calling thread's own slow path (its heap lock held).
void decommit_run(uint64_t now_ms, bool force);
void decommit_maybe();
// The same with the time already read (coarse clock).
void decommit_maybe_at(uint64_t now_ms);
// With an RSS budget: release idle memory at once if RSS is over it.
// Returns true if it was over.
bool decommit_budget_check();
void decommit_note_deadline(uint64_t t);
void heap_fork_prepare();
void heap_fork_parent();
void heap_fork_child();
void superslabs_prewarm();
void heap_key_create();

struct SmallStats {
  size_t live_bytes = 0, tcache_bytes = 0, superslabs = 0, ss_bytes = 0;
  size_t committed = 0, lazyfree = 0, dontneed = 0, metadata = 0;
  size_t live_pages = 0;  // bytes of the pages that hold a live object (objects in other threads' caches count as live)
  struct PerClass {
    size_t superslabs = 0, live_bytes = 0, committed = 0, lazyfree = 0, dontneed = 0;
  } per_class[kNumClasses];
};
SmallStats small_stats();

}  // namespace hakmem
