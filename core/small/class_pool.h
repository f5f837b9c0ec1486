// Per-class pools: every SuperSlab of a class, its empty slabs and its
// orphaned slabs (whose thread exited with objects still live). A heap takes
// slabs from its class's pool and gives empty ones back.
//
//   pool_acquire          orphan (adopt) > resident empty > fresh > released empty > superslab_new
//   pool_give_empty       pool_add_empty_locked
//     pool_add_empty_locked   over the idle cap: decommit::release_empty_slab_locked (oldest)
//   pool_sweep_orphans_locked  orphans all of whose objects were freed become empty
//   pool_trim_superslabs_locked  wholly empty SuperSlabs beyond the preset's reserve, idle for the delay, are unmapped
#pragma once
#include <atomic>
#include <cstdint>

#include "core/intrusive_list.h"
#include "core/platform/spin_lock.h"
#include "core/small/size_classes.h"
#include "core/small/slab_list.h"
#include "core/small/superslab.h"

namespace hakmem {

using SuperSlabList = IntrusiveList<SuperSlab, &SuperSlab::prev, &SuperSlab::next>;

struct ClassPool {
  SpinLock lock;
  SlabList empty;            // used == 0, unowned, oldest first
  SlabList orphans;          // unowned with live objects (their thread exited)
  SuperSlabList superslabs;  // every SuperSlab of the class, newest first
};

extern ClassPool g_pools[kNumClasses];

// A slab for heap h (now its owner), nullptr when no memory can be had.
SlabMeta* pool_acquire(unsigned c, ThreadHeap* h);
// An owned slab with no live object goes back to its pool.
void pool_give_empty(unsigned c, SlabMeta* s);
// Under p.lock: put a slab with no live objects on the empty list. Returns
// true if its deadline is now the earliest (the background thread, asleep
// until a later one, must be woken). Over the idle cap, the oldest committed
// empty slab is released: here, or, given detached, taken off the list and
// detached for the caller to release once it has let go of the lock
// (decommit/release.h).
bool pool_add_empty_locked(ClassPool& p, SlabMeta* s, uint64_t now, SlabMeta** detached = nullptr);
// Under p.lock: orphaned slabs whose objects were all freed remotely become empty.
void pool_sweep_orphans_locked(ClassPool& p, uint64_t now);
// Under p.lock: unmaps wholly empty SuperSlabs beyond keep that have been
// idle for the delay (all of them when over). Returns when the next one
// will have been, UINT64_MAX if none waits.
uint64_t pool_trim_superslabs_locked(ClassPool& p, uint32_t keep, uint64_t now, bool over);
// FAST: one SuperSlab per class at start.
void superslabs_prewarm();

// The time the idle clocks read: 0 in a mode that never releases (no clock read).
uint64_t idle_clock();

}  // namespace hakmem
