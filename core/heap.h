// Thread heaps and the small-object fast paths.
//
// Each thread has a ThreadHeap: per class, a bounded free list (the thread
// cache) popped and pushed with no locks and no atomics, and the slabs it
// owns. A free by the owner goes to its cache; a free by any other thread
// goes to the slab's lock-free remote list, which the owner collects.
//
// tl_heap starts at g_empty_heap, whose caches are empty, so the first
// malloc of a thread falls into the slow path that creates its heap: the
// fast path never asks "am I initialised?".
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

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
  SlabListHead partial;    // owned slabs with free objects
  SlabListHead full;       // owned slabs with nothing local (may receive remote frees)
};

struct ThreadHeap {
  TcBin tc[kNumClasses];
  // Counts owner frees down to the next time-based check (heap_tick): a
  // process that only cycles a few objects through its caches never enters
  // the slow paths, yet its idle slabs must still be released.
  uint32_t tick;
  uint64_t clock_ms;        // time at the last tick: ages partial slabs without reading the clock
  uint64_t last_sweep_ms;   // last page sweep of this heap's partial slabs
  uint64_t last_budget_ms;  // last RSS budget check from heap_tick
  HeapBin bins[kNumClasses];
  alignas(64) std::atomic<uint64_t> remote_classes;  // bit c: a remote free hit a slab of class c
  ThreadHeap* next_all;     // every heap ever made, for statistics
  ThreadHeap* next_free;    // recycled heaps
  bool live;
};

extern ThreadHeap g_empty_heap;
extern __thread ThreadHeap* tl_heap __attribute__((tls_model("initial-exec")));

void* small_alloc_slow(ThreadHeap* h, unsigned c);
void small_flush(ThreadHeap* h, unsigned c);
void heap_tick(ThreadHeap* h);
void small_free_remote(SlabMeta* s, FreeNode* f, unsigned c);
[[noreturn]] void report_bad_pointer(const void* p, const char* op);
[[noreturn]] void report_double_free(const void* p, const char* op);

[[gnu::always_inline]] inline void* small_alloc(unsigned c) {
  ThreadHeap* h = tl_heap;
  TcBin& b = h->tc[c];
  FreeNode* f = b.head;
  if (__builtin_expect(f != nullptr, 1)) {
    b.head = f->next;
    b.room++;
    f->guard = 0;
    return f;
  }
  return small_alloc_slow(h, c);
}

// The SuperSlab holding p, or nullptr if p is not in one.
[[gnu::always_inline]] inline SuperSlab* superslab_of(const void* p) {
  uintptr_t base = reinterpret_cast<uintptr_t>(p) & g_rt.ss_mask;
  return registry::is_superslab(base) ? reinterpret_cast<SuperSlab*>(base) : nullptr;
}

// Checks that p is the start of an object carved in its slab; aborts if not.
[[gnu::always_inline]] inline SlabMeta* checked_slab(SuperSlab* ss, const void* p, const char* op) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  SlabMeta* s = ss->slab_of(a);
  // off is below kSlabSize, or wraps to a huge value for a pointer into the
  // header: idx * obj_size (< 2^31) then cannot equal it.
  uint64_t off = object_offset(ss, s, a);
  uint64_t idx = object_index(off, s->recip);
  if (__builtin_expect(idx * s->obj_size != off || idx >= __atomic_load_n(&s->carved, __ATOMIC_RELAXED), 0))
    report_bad_pointer(p, op);
  if (__builtin_expect(static_cast<const FreeNode*>(p)->guard == (a ^ g_rt.guard_key), 0))
    report_double_free(p, op);
  return s;
}

[[gnu::always_inline]] inline void small_free(SuperSlab* ss, void* p) {
  SlabMeta* s = checked_slab(ss, p, "free()");
  FreeNode* f = static_cast<FreeNode*>(p);
  unsigned c = s->class_idx;
  ThreadHeap* h = tl_heap;
  if (__builtin_expect(s->owner.load(std::memory_order_relaxed) == h, 1)) {
    TcBin& b = h->tc[c];
    f->next = b.head;
    f->guard = reinterpret_cast<uintptr_t>(p) ^ g_rt.guard_key;
    b.head = f;
    if (__builtin_expect(--b.room < 0, 0)) return small_flush(h, c);
    if (__builtin_expect(--h->tick == 0, 0)) heap_tick(h);
    return;
  }
  small_free_remote(s, f, c);
}

// Slow-path entry points shared with the rest of the core.
void heap_thread_exit(ThreadHeap* h);
void heap_flush_all(ThreadHeap* h, bool release_current);
void heap_sweep_pages(ThreadHeap* h, uint64_t now_ms, bool force);
void decommit_run(uint64_t now_ms, bool force);
void decommit_maybe();
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
  struct PerClass {
    size_t superslabs = 0, live_bytes = 0, committed = 0, lazyfree = 0, dontneed = 0;
  } per_class[kNumClasses];
};
SmallStats small_stats();

}  // namespace hakmem
