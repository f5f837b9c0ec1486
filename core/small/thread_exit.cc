// A thread's exit (the thread-exit key's destructor): its caches go back
// to its slabs, empty slabs to the pools, the others are orphaned (adopted
// by the next thread that needs their class), and the heap is recycled.
#include "core/small/slow_paths.h"

#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"

namespace hakmem {

__thread bool tl_exiting __attribute__((tls_model("initial-exec")));

namespace {
// At thread exit (h->lock held): empty slabs go to the pools, the others are
// orphaned. Orphans keep their sweep state (release_state, idle_since_ms): decommit::run
// goes on sweeping them, under the pool lock.
void heap_orphan_all_locked(ThreadHeap* h) {
  for_each_class(h->used_classes, [&](unsigned c) {
    HeapBin& bin = h->bins[c];
    if (bin.current) slab_list_push(bin.partial, bin.current, SlabPlace::HeapPartial), bin.current = nullptr;
    SlabList* lists[4] = {&bin.partial, &bin.full, &bin.lazy, &bin.clean};
    for (SlabList* l : lists) {
      while (SlabMeta* s = slab_list_pop_back(*l)) {
        if (slab_collect_remote(s)) slab_mark_gained(s, h->clock_ms);
        if (s->used == 0) {
          pool_give_empty(c, s);
          continue;
        }
        // Live objects remain: orphan the slab. Frees reach it through its
        // remote bitmap; the next thread needing this class adopts it.
        LockGuard g(g_pools[c].lock);
        set_owner(s, nullptr);
        slab_list_push(g_pools[c].orphans, s, SlabPlace::PoolOrphan);
      }
    }
  });
  // Every list is empty now: the heap can be recycled with no class set up.
  h->used_classes = 0;
}

void heap_key_destructor(void* arg) {
  tl_exiting = true;
  heap_thread_exit(static_cast<ThreadHeap*>(arg));
}
}  // namespace

void heap_thread_exit(ThreadHeap* h) {
  if (!h || h == &g_empty_heap) return;
  {
    OwnerLock own(h);
    heap_flush_all_locked(h, true);
    // The thread's bins lose their slot arrays, which go with the heap to
    // the next thread that takes it: a class used again by this thread
    // (another key's destructor) is set up anew, in the heap it gets then.
    for_each_class(h->used_classes, [&](unsigned c) { h->tc[c] = CacheBin{}; });
    heap_orphan_all_locked(h);
    __atomic_store_n(&h->live, false, __ATOMIC_RELAXED);  // under its lock: a sweep skips it from now on
  }
  tl_heap = &g_empty_heap;
  LockGuard g(g_heap_lock);
  h->thread_ptr = 0;
  h->next_free = g_free_heaps;
  g_free_heaps = h;
}

void heap_key_create() { os::thread_exit_key_create(heap_key_destructor); }

}  // namespace hakmem
