#include "decommit/sweep.h"

#include "core/platform/thread.h"
#include "core/small/heap_slabs.h"
#include "core/small/thread_heap.h"
#include "decommit/budget.h"
#include "decommit/release.h"

namespace hakmem::decommit {

namespace {
// Collects the remote frees of every slab of class c of h (h->lock held): a
// slab that gained objects this way is due for the sweep like any other.
void collect_remote_locked(ThreadHeap* h, unsigned c, uint64_t now) {
  HeapBin& bin = h->bins[c];
  if (bin.current && slab_collect_remote(bin.current)) slab_gained(h, c, bin.current, now);
  SlabList* lists[4] = {&bin.full, &bin.lazy, &bin.clean, &bin.partial};
  for (SlabList* l : lists) {
    // Slabs that gain go to the back of partial: stop at the old back.
    SlabMeta* last = l->last;
    for (SlabMeta* s = l->first; s;) {
      SlabMeta* next = s == last ? nullptr : s->next;
      if (slab_collect_remote(s)) {
        slab_gained(h, c, s, now);
        heap_release_if_empty(h, c, s);
      }
      s = next;
    }
  }
}

// Sweeps heap h (h->lock held); the classes in over_mask release all their
// free pages at once. Returns its next deadline.
uint64_t sweep_heap_locked(ThreadHeap* h, uint64_t now, uint64_t over_mask) {
  uint64_t next = UINT64_MAX;
  auto soonest = [&next](uint64_t d) { next = d < next ? d : next; };
  const uint64_t remote = h->remote_classes.load(std::memory_order_relaxed);
  // A remote bit of an unused class is stale (set through a slab this heap
  // had in its previous life): its lists are empty, the walk clears it.
  for_each_class(h->used_classes | remote, [&](unsigned c) {
    HeapBin& bin = h->bins[c];
    const uint64_t bit = uint64_t{1} << c;
    const bool over = (over_mask & bit) != 0;
    if (remote & bit) {
      h->remote_classes.fetch_and(~bit, std::memory_order_relaxed);
      collect_remote_locked(h, c, now);
    }
    while (SlabMeta* s = bin.partial.first) {
      uint64_t d = sweep_slab(s, now, over);
      if (s->release_state == ReleaseState::Committed) {  // not due; nor is any after it
        soonest(d);
        break;
      }
      slab_list_remove(bin.partial, s);
      if (s->release_state == ReleaseState::LazyFree) slab_list_push(bin.lazy, s, SlabPlace::HeapLazy);
      else slab_list_push(bin.clean, s, SlabPlace::HeapClean);
    }
    while (SlabMeta* s = bin.lazy.first) {
      uint64_t d = sweep_slab(s, now, over);
      if (s->release_state == ReleaseState::LazyFree) {
        soonest(d);
        break;
      }
      slab_list_remove(bin.lazy, s);
      slab_list_push(bin.clean, s, SlabPlace::HeapClean);
    }
    if (bin.current) soonest(sweep_slab(bin.current, now, over));
  });
  return next;
}

// Locks heap h for a sweep. An owner holds its lock briefly (a slow path),
// so even a forced sweep only retries for a while and then leaves the heap
// to the next run: it must never wait for an owner that may be waiting for
// this run to finish.
bool lock_for_sweep(ThreadHeap* h, bool retry) {
  for (int i = 0; !h->lock.try_lock(); ++i) {
    if (!retry || i == 256) return false;
    if (i < 64) os::cpu_relax();
    else os::yield_cpu();
  }
  return true;
}
}  // namespace

uint64_t sweep_heaps(uint64_t now, uint64_t over_mask, const QuietCut* quiet) {
  uint64_t next = UINT64_MAX;
  for (ThreadHeap* h = __atomic_load_n(&g_all_heaps, __ATOMIC_ACQUIRE); h; h = h->next_all) {
    const bool own = h == tl_heap && tl_heap_locked;
    if (!own && !lock_for_sweep(h, over_mask != 0)) {
      uint64_t retry = now + (g_rt.decommit.delay_ms / 4 ? g_rt.decommit.delay_ms / 4 : 1);
      next = retry < next ? retry : next;
      continue;
    }
    if (__atomic_load_n(&h->live, __ATOMIC_RELAXED)) {
      uint64_t mask = over_mask;
      if (quiet) mask |= quiet_classes(h->refill_at, kNumClasses, h->committed_total, quiet->span);
      uint64_t d = sweep_heap_locked(h, now, mask);
      next = d < next ? d : next;
    }
    if (!own) h->lock.unlock();
  }
  return next;
}

uint64_t sweep_orphans_locked(ClassPool& p, uint64_t now, bool over) {
  uint64_t next = UINT64_MAX;
  for (SlabMeta* s = p.orphans.first; s;) {
    SlabMeta* following = s->next;
    if (slab_collect_remote(s)) slab_mark_gained(s, now);
    if (s->used == 0) {
      slab_list_remove(p.orphans, s);
      pool_add_empty_locked(p, s, now);
    } else {
      uint64_t d = sweep_slab(s, now, over);
      next = d < next ? d : next;
    }
    s = following;
  }
  return next;
}

uint64_t sweep_empty_slabs(ClassPool& p, uint64_t now, bool over_budget, uint32_t superslabs_kept) {
  const DecommitConfig& cfg = g_rt.decommit;
  // Released in this run: off the empty list until the end, so that none
  // is looked at twice (a slab just released lazily is not escalated in the
  // same run) and the empty list stays short for the threads taking slabs.
  SlabList done;
  SlabMeta* batch[kEmptyReleaseBatch];
  DecommitAction action[kEmptyReleaseBatch];
  // At most as many as the list held at the start: threads give slabs back
  // while a batch is released (over the budget each is due at once), and a
  // run must end; later ones wait for the next.
  size_t left = SIZE_MAX;
  for (;;) {
    unsigned n = 0;
    {
      LockGuard g(p.lock);
      if (left == SIZE_MAX) {
        left = 0;
        for (SlabMeta* s = p.empty.first; s; s = s->next) ++left;
      }
      for (SlabMeta* s = p.empty.first; s && n < kEmptyReleaseBatch && n < left;) {
        SlabMeta* following = s->next;
        const DecommitAction a = decide(cfg, s->release_state, s->idle_since_ms, now, over_budget);
        if (a != DecommitAction::None) {
          slab_list_remove(p.empty, s);
          release_empty_slab_detach_locked(s);
          batch[n] = s;
          action[n++] = a;
        }
        s = following;
      }
      left -= n;
      if (n == 0) {
        // Back at the front, in their order: they are the oldest.
        while (SlabMeta* s = slab_list_pop_back(done)) slab_list_push_front(p.empty, s, SlabPlace::PoolEmpty);
        uint64_t next = UINT64_MAX;
        for (SlabMeta* s = p.empty.first; s; s = s->next) {
          const uint64_t d = next_deadline(cfg, s->release_state, s->idle_since_ms);
          next = d < next ? d : next;
        }
        const uint64_t d = pool_trim_superslabs_locked(p, superslabs_kept, now, over_budget);
        return d < next ? d : next;
      }
    }
    for (unsigned i = 0; i < n; ++i) release_empty_slab_memory(batch[i], action[i]);
    LockGuard g(p.lock);
    for (unsigned i = 0; i < n; ++i) {
      release_empty_slab_settle_locked(batch[i], action[i]);
      slab_list_push(done, batch[i], SlabPlace::None);
    }
  }
}

}  // namespace hakmem::decommit
