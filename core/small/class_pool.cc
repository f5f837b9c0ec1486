#include "core/small/class_pool.h"

#include "core/platform/clock.h"
#include "core/runtime.h"
#include "core/small/arena.h"
#include "decommit/deadline.h"
#include "decommit/release.h"

namespace hakmem {

ClassPool g_pools[kNumClasses];

namespace {
// A slab with capacity from a SuperSlab that still has fresh slabs.
SlabMeta* pool_take_fresh(ClassPool& p) {
  for (SuperSlab* ss = p.superslabs.first; ss; ss = ss->next) {
    if (SlabMeta* s = superslab_take_fresh(ss)) {
      ss->active++;
      return s;
    }
  }
  return nullptr;
}

// Under p.lock: unmaps a SuperSlab none of whose slabs is in use.
void pool_unmap_superslab_locked(ClassPool& p, SuperSlab* ss) {
  for (uint32_t i = 0; i < ss->fresh_next; ++i) {
    SlabMeta* s = ss->slab_by_take_order(i);
    if (s->on_list == SlabPlace::PoolEmpty) slab_list_remove(p.empty, s), decommit::idle_leave(s);
  }
  p.superslabs.remove(ss);
  superslab_unmap(ss);
}
}  // namespace

uint64_t idle_clock() { return g_rt.releases ? os::now_ms() : 0; }

// Under p.lock: put a slab with no live objects on the empty list.
bool pool_add_empty_locked(ClassPool& p, SlabMeta* s, uint64_t now, SlabMeta** detached) {
  s->owner_thread_ptr.store(0, std::memory_order_relaxed);
  s->owner.store(kOwnerEmpty, std::memory_order_relaxed);
  s->idle_since_ms = now;
  s->release_state = decommit::ReleaseState::Committed;
  slab_list_push(p.empty, s, SlabPlace::PoolEmpty);
  superslab_of_slab(s)->active--;
  const bool earliest =
      decommit::note_deadline(decommit::next_deadline(g_rt.decommit, decommit::ReleaseState::Committed, now));
  size_t idle = decommit::g_idle_committed.fetch_add(kSlabSize, std::memory_order_relaxed) + kSlabSize;
  if (decommit::over_idle_cap(g_rt.decommit, idle, decommit::g_idle_cap_stretch.load(std::memory_order_relaxed))) {
    // Over the cap: this class's oldest committed empty slab goes now. Its
    // SuperSlab stays mapped until the delay has passed (decommit::run trims
    // it then): unmapping it here would also throw away the pages MADV_FREE
    // left in place, and a program that refills them would fault every one
    // back in (phases ran 20% slower that way, for 0.7 MB less RSS).
    for (SlabMeta* old = p.empty.first; old; old = old->next) {
      if (old->release_state != decommit::ReleaseState::Committed) continue;
      if (!detached) {
        decommit::release_empty_slab_locked(old, decommit::first_stage(g_rt.decommit));
      } else {
        slab_list_remove(p.empty, old);
        decommit::release_empty_slab_detach_locked(old);
        *detached = old;
      }
      break;
    }
  }
  return earliest;
}

void pool_give_empty(unsigned c, SlabMeta* s) {
  uint64_t now = idle_clock();
  bool earliest;
  SlabMeta* over_cap = nullptr;
  ClassPool& p = g_pools[c];
  {
    LockGuard g(p.lock);
    earliest = pool_add_empty_locked(p, s, now, &over_cap);
  }
  if (over_cap) {
    // Released without the lock: other threads take and give back slabs
    // of the class meanwhile. Back at the front, with the oldest.
    const decommit::DecommitAction a = decommit::first_stage(g_rt.decommit);
    decommit::release_empty_slab_memory(over_cap, a);
    LockGuard g(p.lock);
    decommit::release_empty_slab_settle_locked(over_cap, a);
    slab_list_push_front(p.empty, over_cap, SlabPlace::PoolEmpty);
  }
  // Only a deadline earlier than the one noted needs the background thread
  // to look again: it sleeps until that one and sweeps everything due then.
  // (Waking it for every slab that emptied was a futex call per slab, and a
  // wake-up of the thread each time: 25,000 futex calls in bursts-2t.)
  if (g_rt.releases && earliest) decommit::wake_background();
}

SlabMeta* pool_acquire(unsigned c, ThreadHeap* h) {
  ClassPool& p = g_pools[c];
  LockGuard g(p.lock);
  SlabMeta* s = slab_list_pop_back(p.orphans);
  if (s) {
    set_owner(s, h);  // publishes the heap to remote freers
    slab_collect_remote(s);
    return s;
  }
  s = p.empty.last;
  // The most recently emptied slab is likely still resident; released ones
  // cost page faults like fresh ones, so prefer fresh slabs over those.
  if (s && s->release_state == decommit::ReleaseState::Released) {
    if (SlabMeta* f = pool_take_fresh(p)) s = f;
    else slab_list_remove(p.empty, s), superslab_of_slab(s)->active++, decommit::note_empty_reused(s, os::now_ms_coarse());
  } else if (s) {
    if (s->release_state != decommit::ReleaseState::Committed) decommit::note_empty_reused(s, os::now_ms_coarse());
    slab_list_remove(p.empty, s);
    decommit::idle_leave(s);
    superslab_of_slab(s)->active++;
  } else {
    s = pool_take_fresh(p);
  }
  if (!s) {
    SuperSlab* ss = superslab_new(c);
    if (!ss) return nullptr;
    p.superslabs.push_front(ss);
    s = pool_take_fresh(p);
  }
  s->release_state = decommit::ReleaseState::Committed;
  set_owner(s, h);  // publishes the heap to remote freers
  return s;
}

// Orphaned slabs whose objects were all freed remotely become empty here.
void pool_sweep_orphans_locked(ClassPool& p, uint64_t now) {
  for (SlabMeta* s = p.orphans.first; s;) {
    SlabMeta* next = s->next;
    slab_collect_remote(s);
    if (s->used == 0) {
      slab_list_remove(p.orphans, s);
      pool_add_empty_locked(p, s, now);
    }
    s = next;
  }
}

namespace {
// When the most recently emptied slab of a SuperSlab with none in use became
// empty.
uint64_t superslab_idle_since(SuperSlab* ss) {
  uint64_t newest = 0;
  for (uint32_t i = 0; i < ss->fresh_next; ++i) {
    SlabMeta* s = ss->slab_by_take_order(i);
    if (s->on_list == SlabPlace::PoolEmpty && s->idle_since_ms > newest) newest = s->idle_since_ms;
  }
  return newest;
}
}  // namespace

// Unmaps wholly empty SuperSlabs beyond the preset's reserve, once they have
// been idle for the delay (decommit::idle_for_delay). Returns when the next
// one will have been (UINT64_MAX: none waits).
uint64_t pool_trim_superslabs_locked(ClassPool& p, uint32_t keep, uint64_t now, bool over) {
  uint32_t idle = 0;
  uint64_t due = UINT64_MAX;
  for (SuperSlab* ss = p.superslabs.first; ss;) {
    SuperSlab* next = ss->next;
    if (ss->active == 0 && ++idle > keep) {
      const uint64_t since = superslab_idle_since(ss);
      if (decommit::idle_for_delay(g_rt.decommit, since, now, over)) pool_unmap_superslab_locked(p, ss);
      else if (since + g_rt.decommit.delay_ms < due) due = since + g_rt.decommit.delay_ms;
    }
    ss = next;
  }
  return due;
}

void superslabs_prewarm() {
  arena::commit_ahead(kNumClasses);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    ClassPool& p = g_pools[c];
    LockGuard g(p.lock);
    if (!p.superslabs.empty()) continue;
    if (SuperSlab* ss = superslab_new(c)) p.superslabs.push_front(ss);
  }
}

}  // namespace hakmem
