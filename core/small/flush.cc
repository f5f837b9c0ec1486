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
#include "decommit/tick_epoch.h"

namespace hakmem {

namespace {
// The owner's path back to a slab: puts the n objects first..last (linked
// in that order, all of one slab owned by h; last's link is set here) on
// the slab's free list.
// Returns the slab if it has no live object left.
SlabMeta* slab_put_local(ThreadHeap* h, unsigned c, FreeNode* first, FreeNode* last, uint32_t n) {
  SlabMeta* s = find_slab(first);
  link_set(last, s->local_free);
  s->local_free = first;
  s->used -= n;
  slab_gained(h, c, s, h->clock_ms);
  return s->used == 0 ? s : nullptr;
}

// Returns objs[0, n) of cache bin c to their slabs, newest (highest index)
// first, so each slab's free list hands out first what was freed last. The
// bin's objects carry no links: each run is linked here, encoded, as it goes
// onto its slab's list.
void tcache_return(ThreadHeap* h, unsigned c, FreeNode* const* objs, uint32_t n) {
  while (n) {
    // Objects freed together mostly come from one slab: return each run of
    // them at once. Slabs are 64 KiB aligned, so one slab is one value of
    // the address bits above kSlabShift.
    FreeNode* first = objs[--n];
    const uintptr_t slab = reinterpret_cast<uintptr_t>(first) >> kSlabShift;
    FreeNode* last = first;
    uint32_t run = 1;
    while (n && reinterpret_cast<uintptr_t>(objs[n - 1]) >> kSlabShift == slab) {
      FreeNode* next = objs[--n];
      link_set(last, next);
      last = next;
      ++run;
    }
    heap_release_if_empty(h, c, slab_put_local(h, c, first, last, run));
  }
}
}  // namespace

void heap_return_bin(ThreadHeap* h, unsigned c) {
  CacheBin& b = h->tc[c];
  const uint32_t n = bin_count(b);
  FreeNode** slots = bin_slots(b);
  b.top = slots;
  tcache_return(h, c, slots, n);
  // A bin grown while its class cycled many objects starts again small:
  // it empties when it went idle, or memory is wanted, and a class that
  // cycles again grows it again within a few cycles.
  heap_shrink_bin(h, c);
}

[[gnu::noinline]] void small_flush(ThreadHeap* h, CacheBin* bin, FreeNode* f) {
  unsigned c = static_cast<unsigned>(bin - h->tc);
  CacheBin& b = *bin;
  // A bin that overflows, refills and overflows again cycles more objects
  // than it holds (a loop allocating a few hundred, then freeing them): it
  // doubles, up to its capacity, instead of moving half of its objects to
  // the slabs and back every cycle. A burst of mallocs and then one of
  // frees does not grow it: a thread that frees what it built and goes
  // quiet keeps its bins at their first size (README, LEAN).
  HeapBin& hb = h->bins[c];
  hb.overflowed = true;
  if (hb.refilled) {
    hb.refilled = false;
    if (heap_grow_bin(h, c)) {
      *b.top = f;
      b.top += 1;
      return;
    }
  }
  // The newer half stays (moved to the bottom of the array), the older goes.
  FreeNode** slots = bin_slots(b);
  const uint32_t keep = bin_limit(b) / 2;
  const uint32_t back = bin_count(b) - keep;
  {
    OwnerLock g(h);
    if (g_rt.releases) {
      h->clock_ms = os::now_ms_coarse();
      decommit::note_tick_activity();
    }
    // A class whose frees overflow its bin is in use, even when its mallocs
    // are all served from the bin: not quiet (core/small/make_room.cc).
    budget::note_use(c, h->refill_at, h->committed_total);
    tcache_return(h, c, slots, back);
  }
  __builtin_memmove(slots, slots + back, keep * sizeof(FreeNode*));
  slots[keep] = f;
  b.top = slots + keep + 1;
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
