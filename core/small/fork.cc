// The small-object allocator across fork: every lock held, so the child
// finds consistent heaps and pools; the child drops the thread pointers of
// the threads that did not follow it.
#include "core/small/slow_paths.h"

#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"
#include "decommit/run.h"

namespace hakmem {

// Lock order: g_heap_lock, then heap locks, then pool locks (an owner or a
// sweep holding a heap lock takes a pool lock; none takes g_heap_lock).
void small_fork_prepare() {
  g_heap_lock.lock();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all) h->lock.lock();
  for (ClassPool& p : g_pools) p.lock.lock();
}

void small_fork_parent() {
  for (ClassPool& p : g_pools) p.lock.unlock();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all) h->lock.unlock();
  g_heap_lock.unlock();
}

void small_fork_child() {
  // Only the forking thread lives on in the child, but glibc hands the other
  // threads' stacks, and so their thread pointers, to threads the child
  // creates. The slabs of the heaps left behind must not match one of those
  // in free()'s fast path: they keep their owner word (frees reach them
  // through their remote bitmaps, as for any owner that never returns) and
  // lose their thread pointer. The locks taken by small_fork_prepare are
  // still held.
  const uintptr_t me = thread_pointer();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all)
    if (h != tl_heap) h->thread_ptr = 0;
  for (ClassPool& p : g_pools)
    for (SuperSlab* ss = p.superslabs.first; ss; ss = ss->next)
      for (uint32_t i = 0; i < ss->fresh_next; ++i) {
        std::atomic<uintptr_t>& tp = ss->slab_by_take_order(i)->owner_thread_ptr;
        if (tp.load(std::memory_order_relaxed) != me) tp.store(0, std::memory_order_relaxed);
      }
  small_fork_parent();
  // The background thread does not exist in the child; start it on demand.
  decommit::reset_after_fork();
}

}  // namespace hakmem
