// The small-object fast paths: malloc from the thread's cache bin, free to
// it. Inline everywhere they are used (core/api.h): no call, no stack
// frame, no lock, no atomic read-modify-write.
//
//   small_alloc_at(bin offset)     pop the bin's slot array
//     small_alloc_slow             empty bin: refill (core/small/refill.cc)
//   small_free(slab, p)            carved? not free already? owner?
//     owner_push                   onto the owner's bin
//       small_flush                bin full (core/small/flush.cc)
//       heap_tick                  LEAN: the tick epoch moved (core/small/tick.cc)
//     small_free_remote            another thread's slab (core/small/remote_free.cc)
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/error_report.h"
#include "core/runtime.h"
#include "core/small/free_link.h"
#include "core/small/size_classes.h"
#include "core/small/slab.h"
#include "core/small/slow_paths.h"
#include "core/small/thread_heap.h"
#include "decommit/tick_epoch.h"

namespace hakmem {

// The cache bin offset for n in [0, kLookupMax] (bin_offset of
// size_to_class_lookup): malloc's size lookup, one load from a table chosen
// at start (core/small/size_classes.cc). A relaxed atomic load (a plain mov):
// a thread may malloc while another one's first malloc chooses the table.
[[gnu::always_inline]] inline size_t bin_offset_lookup(size_t n) {
  return __atomic_load_n(&g_bin_offsets.v[(n + 15) >> 4], __ATOMIC_RELAXED);
}

// Allocates from the cache bin at byte offset off (bin_offset(class)). The
// pop reads the bin and its slot array, never the object: nothing written
// into a cached object can steer it, and there is no link to check.
[[gnu::always_inline]] inline void* small_alloc_at(size_t off) {
  CacheBin& b = *reinterpret_cast<CacheBin*>(reinterpret_cast<char*>(tl_cache.bins) + off);
  FreeNode** top = b.top;
  if (__builtin_expect(low32(top) != b.base_low, 1)) {
    FreeNode* f = *--top;
    b.top = top;
    f->guard = 0;
    return f;
  }
  return small_alloc_slow(tl_heap, static_cast<unsigned>(off / sizeof(CacheBin)));
}

[[gnu::always_inline]] inline void* small_alloc(unsigned c) { return small_alloc_at(bin_offset(c)); }

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

// A free by the slab's owner, the thread whose thread pointer is thread_ptr: onto
// its cache bin. guard is f's guard value.
[[gnu::always_inline]] inline void owner_push(const SlabMeta* s, FreeNode* f, uintptr_t guard, uintptr_t thread_ptr) {
  CacheBin& b = *reinterpret_cast<CacheBin*>(thread_ptr + s->cache_bin_offset);
  f->guard = guard;
  FreeNode** top = b.top;
  // A full bin: the older half goes back to the slabs, then f is pushed.
  if (__builtin_expect(low32(top) == b.end_low, 0)) return small_flush(tl_heap, &b, f);
  *top = f;
  b.top = top + 1;
  // LEAN's time check, when the tick epoch has moved (decommit/tick_epoch.h):
  // a compare with a load that stays in the cache, never true in FAST. (A
  // counter of frees made a chain of dependent read-modify-writes: 13% of
  // LEAN's speed on a malloc/free loop.)
  const uint32_t epoch = decommit::g_tick_epoch.load(std::memory_order_relaxed);
  if (__builtin_expect(b.tick_epoch != epoch, 0)) {
    // Without the background thread: a count of frees, inline.
    if (epoch == decommit::kTickEveryFree && --tl_cache.tick != 0) return;
    heap_tick(tl_heap);
  }
}

// free() of p in slab s: the same checks as check_object, written out so
// the guard value is computed once and the error paths are tail calls.
[[gnu::always_inline]] inline void small_free(SlabMeta* s, void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (__builtin_expect(!object_carved(s, a), 0)) return free_bad_pointer(p);
  FreeNode* f = static_cast<FreeNode*>(p);
  uintptr_t guard = guard_of(s);
  if (__builtin_expect(f->guard == guard, 0)) return free_double(p);
  uintptr_t thread_ptr = thread_pointer();
  if (__builtin_expect(s->owner_thread_ptr.load(std::memory_order_relaxed) == thread_ptr, 1))
    return owner_push(s, f, guard, thread_ptr);
  small_free_remote(s, f, s->class_idx);
}

}  // namespace hakmem
