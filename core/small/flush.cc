// Objects going back from a thread's cache bins to their slabs: half of a
// full bin (small_flush), one bin (heap_return_bin), or all of them
// (heap_flush_all: hakmem_collect, thread exit).
//
//   small_flush / heap_return_bin
//     tcache_return                runs of objects of one slab at a time
//       slab_put_local             onto the slab's free list: slab_gained
//       heap_release_if_empty      an empty slab back to the pool
#include "core/small/slow_paths.h"

#include "core/budget_account.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"

namespace hakmem {

namespace {
// The owner's path back to a slab: puts the n objects first..last (linked
// in that order, all of one slab owned by h) on the slab's free list.
// Returns the slab if it has no live object left.
SlabMeta* slab_put_local(ThreadHeap* h, unsigned c, FreeNode* first, FreeNode* last, uint32_t n) {
  SlabMeta* s = find_slab(first);
  link_set(last, s->local_free);
  s->local_free = first;
  s->used -= n;
  slab_gained(h, c, s, h->clock_ms);
  return s->used == 0 ? s : nullptr;
}

void tcache_return(ThreadHeap* h, unsigned c, FreeNode* f) {
  while (f) {
    // Objects freed together mostly come from one slab: return each run of
    // them at once. Slabs are 64 KiB aligned, so one slab is one value of
    // the address bits above kSlabShift.
    const uintptr_t slab = reinterpret_cast<uintptr_t>(f) >> kSlabShift;
    FreeNode* last = f;
    uint32_t n = 1;
    FreeNode* next = link_next_in_class(f, c);
    while (next && reinterpret_cast<uintptr_t>(next) >> kSlabShift == slab) {
      last = next;
      next = link_next_in_class(next, c);
      ++n;
    }
    heap_release_if_empty(h, c, slab_put_local(h, c, f, last, n));
    f = next;
  }
}
}  // namespace

void heap_return_bin(ThreadHeap* h, unsigned c) {
  CacheBin& b = h->tc[c];
  FreeNode* all = b.head;
  b.head = nullptr;
  b.slots_left = static_cast<int32_t>(b.limit);
  tcache_return(h, c, all);
}

[[gnu::noinline]] void small_flush(ThreadHeap* h, CacheBin* bin) {
  unsigned c = static_cast<unsigned>(bin - h->tc);
  CacheBin& b = *bin;
  uint32_t keep = b.limit / 2;
  FreeNode* cut = b.head;
  for (uint32_t i = 1; i < keep && cut; ++i) cut = link_next_in_class(cut, c);
  FreeNode* rest;
  if (keep == 0 || !cut) {
    rest = b.head;
    b.head = nullptr;
    b.slots_left = static_cast<int32_t>(b.limit);
  } else {
    rest = link_next_in_class(cut, c);
    link_set(cut, nullptr);
    b.slots_left = static_cast<int32_t>(b.limit - keep);
  }
  OwnerLock g(h);
  if (g_rt.releases) h->clock_ms = os::now_ms_coarse();
  // A class whose frees overflow its bin is in use, even when its mallocs
  // are all served from the bin: not quiet (core/small/make_room.cc).
  budget::note_use(c, h->refill_at, h->committed_total);
  tcache_return(h, c, rest);
}

void heap_flush_all_locked(ThreadHeap* h, bool release_current) {
  for_each_class(h->used_classes, [&](unsigned c) {
    heap_return_bin(h, c);
    collect_remote_full(h, c);
    HeapBin& bin = h->bins[c];
    for (SlabMeta* s = bin.partial.first; s;) {
      SlabMeta* next = s->next;
      slab_collect_remote(s);
      heap_release_if_empty(h, c, s);
      s = next;
    }
    if (release_current && bin.current) {
      SlabMeta* s = bin.current;
      slab_collect_remote(s);
      if (s->used == 0) {
        bin.current = nullptr;
        pool_give_empty(c, s);
      }
    }
  });
}

void heap_flush_all(ThreadHeap* h, bool release_current) {
  if (h == &g_empty_heap) return;
  OwnerLock g(h);
  heap_flush_all_locked(h, release_current);
}

}  // namespace hakmem
