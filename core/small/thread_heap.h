// Thread heaps as data: each thread's cache bins (static TLS), its heap
// (the slabs it owns, per class) and the list of every heap. The operations
// are above: core/small/heap_slabs.* (a heap's slab lists), refill.cc,
// flush.cc, thread_exit.cc; the sweep of every heap is decommit/sweep.cc.
//
// The cache bins live in static TLS (tl_cache), so the fast paths reach them
// from the thread pointer without loading a heap pointer (their slot arrays
// live in the heap's mapping, set up per class on first use, so a thread
// start touches no more static TLS or pages than before), and a slab names
// its owning thread by that thread pointer (SlabMeta::owner_thread_ptr),
// which free() compares with its own in one instruction. Bins start empty,
// so the first malloc of a thread falls into the slow path that creates its
// heap: the fast path never asks "am I initialised?".
#pragma once
#include <atomic>
#include <cstdint>

#include "core/platform/spin_lock.h"
#include "core/runtime.h"
#include "core/small/size_classes.h"
#include "core/small/slab.h"
#include "core/small/slab_list.h"

namespace hakmem {

// A thread cache bin: a bounded stack of free objects with no lock, in an
// array of its heap's (heap_class_setup: in the heap's own mapping, never in
// the objects). A cached object holds no link: a write into it after free
// cannot choose what malloc returns, and malloc reads nothing from the
// object it pops. top is one past the newest object; the array's bounds are
// kept as the low 32 bits of their addresses, which tell top equal to a
// bound exactly (an array is far smaller than 4 GiB): malloc pops with one
// load and one compare, free pushes likewise. A free finding the bin full
// first returns the older half to the slabs (small_flush). A class the
// thread has not used has no array: every field 0, so the bin reads as
// both empty and full.
struct CacheBin {
  FreeNode** top;        // one past the newest cached object
  uint32_t base_low;     // low 32 bits of the array's address: top's when the bin is empty
  uint32_t end_low;      // low 32 bits of the address past its last slot: top's when full
  uint32_t tick_epoch;   // the tick epoch its thread last ticked in (decommit/tick_epoch.h)
};

[[gnu::always_inline]] inline uint32_t low32(const void* p) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p)); }
// The bin's objects: bin_slots(b)[0, bin_count(b)), the last the newest.
inline uint32_t bin_count(const CacheBin& b) { return (low32(b.top) - b.base_low) / sizeof(FreeNode*); }
inline uint32_t bin_limit(const CacheBin& b) { return (b.end_low - b.base_low) / sizeof(FreeNode*); }
inline FreeNode** bin_slots(const CacheBin& b) { return b.top - bin_count(b); }
inline CacheBin make_bin(FreeNode** slots, uint32_t limit, uint32_t tick_epoch) {
  return CacheBin{slots, low32(slots), low32(slots + limit), tick_epoch};
}

// A heap's slabs of one class.
struct HeapBin {
  SlabMeta* current;  // slab being allocated from
  SlabList partial;   // owned slabs with free objects not swept since they gained them, oldest first
  SlabList full;      // owned slabs with nothing local (may receive remote frees)
  SlabList lazy;      // swept, with pages released by MADV_FREE waiting to escalate
  SlabList clean;     // swept, nothing due
  uint32_t refills;   // refills so far, up to kRefillRamp: sets how many objects the next one moves
  bool overflowed;    // the bin overflowed since it was set up or last shrank
  bool refilled;      // refilled since it last overflowed, having overflowed before (small_flush: then it grows)
};

// A thread's cache: every class's bin, in static TLS.
struct ThreadCache {
  CacheBin bins[kNumClasses];
  // Without a background thread to move the tick epoch: owner frees
  // counted down to the next time-based check (heap_tick): a process that
  // only cycles a few objects through its caches never enters the slow
  // paths, yet its idle slabs must still be released.
  uint32_t tick;
};

// Byte offset of class c's cache bin in ThreadCache::bins.
constexpr uint32_t bin_offset(unsigned c) { return c * static_cast<uint32_t>(sizeof(CacheBin)); }

HK_HIDDEN extern __thread ThreadCache tl_cache __attribute__((tls_model("initial-exec")));

// Who touches a heap's slabs: its owner in the slow paths only (refill, cache
// flush, tick, thread exit), and any thread's decommit sweep. Both hold
// `lock`; the owner's fast paths (its cache bins, owner_push) never do, nor
// need to: the sweep never touches cache bins, only slab free lists. The
// sweeper only try-locks, so an owner in its slow path is never kept waiting.
//
// A heap's mapping holds, after the ThreadHeap, a slot array for every class
// (heap_slot_layout: each class's bin limit of pointers, fixed for the
// process). Only the arrays of classes the thread uses are ever written, so
// untouched ones cost address space, not memory; a recycled heap keeps
// them.
struct ThreadHeap {
  CacheBin* tc;                // its thread's tl_cache.bins (read by statistics while the thread lives)
  uintptr_t thread_ptr;     // its thread's thread pointer: the owner_thread_ptr of the slabs it owns
  uint64_t clock_ms;        // time at the last tick or slow path: ages slabs without reading the clock
  uint64_t last_budget_ms;  // last RSS budget check from heap_tick
  uint64_t last_tick_ms;    // when the last tick ran: sets the next tick's interval
  uint32_t tick_every;      // owner frees between ticks (adapted to the free rate)
  SpinLock lock;
  HeapBin bins[kNumClasses];
  FreeNode* bin_seen[kNumClasses];  // each cache bin's top object at the last look: unchanged = idle
  uint64_t bin_seen_ms;             // when that look was
  uint64_t bins_returned_ms;        // when every bin last went back to its slabs
  // Bit c: the thread has used class c, so its cache bin (with its slot
  // array), HeapBin and bin_seen entry are set up (heap_class_setup, on the first refill). A
  // thread uses a few of the 44 classes: thread exit, ticks and sweeps walk
  // only these, and a thread start sets up none.
  uint64_t used_classes;
  // Slab bytes this heap has committed, and per class that count at its last
  // use (a refill or a flush): which of its classes are quiet. The heap's own
  // commits, not the process's: a thread that is merely not running (four
  // threads on two cores) commits nothing, so its classes never look quiet.
  uint64_t committed_total;
  uint64_t refill_at[kNumClasses];
  alignas(64) std::atomic<uint64_t> remote_classes;  // bit c: a remote free hit a slab of class c
  ThreadHeap* next_all;     // every heap ever made, for statistics
  ThreadHeap* next_free;    // recycled heaps
  bool live;
};

static_assert(kNumClasses <= 64, "ThreadHeap::used_classes has a bit per class");

// Calls f(c) for every class c whose bit is set in classes, lowest first.
template <class F>
inline void for_each_class(uint64_t classes, F f) {
  for (; classes; classes &= classes - 1) f(static_cast<unsigned>(__builtin_ctzll(classes)));
}

// The heap every thread starts with: its bins are empty, so the first
// malloc reaches the slow path, which makes the thread a heap of its own.
HK_HIDDEN extern ThreadHeap g_empty_heap;
HK_HIDDEN extern __thread ThreadHeap* tl_heap __attribute__((tls_model("initial-exec")));

// Every heap ever made (g_all_heaps, pushed under g_heap_lock, walked
// without it by the sweep) and the recycled ones.
extern SpinLock g_heap_lock;
extern ThreadHeap* g_all_heaps;
extern ThreadHeap* g_free_heaps;

[[gnu::always_inline]] inline uintptr_t thread_pointer() {
  return reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
}

// Set while the thread holds its own heap's lock (OwnerLock): a decommit run
// started from inside the owner's slow path sweeps that heap without taking
// the lock again, and only try-locks the others.
extern __thread bool tl_heap_locked __attribute__((tls_model("initial-exec")));

// The owner's slow paths that touch its slabs hold this.
class OwnerLock {
 public:
  explicit OwnerLock(ThreadHeap* h) : h_(h) {
    h_->lock.lock();
    tl_heap_locked = true;
  }
  ~OwnerLock() {
    tl_heap_locked = false;
    h_->lock.unlock();
  }
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

 private:
  ThreadHeap* h_;
};

}  // namespace hakmem
