// The release mechanism: giving idle memory of slabs back to the kernel the
// way the policy (policy.h) decided. The one place that maps a
// DecommitAction to a platform call is release_range.
//
//   sweep_slab(s)                 a slab with live objects, due: policy.h decide
//     release_pages(lazy, Now)    pages an earlier sweep released lazily escalate
//     release_free_pages          pages all of whose objects are free: parked, released
//   release_empty_slab_locked     a slab with no live object, whole
//
// Owner context: the slab's heap lock, or its pool's.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/small/slab.h"
#include "core/small/superslab.h"
#include "decommit/policy.h"

namespace hakmem::decommit {

// Bytes of empty slabs in the pools that are still committed (the idle
// memory the cap in DecommitConfig bounds).
extern std::atomic<size_t> g_idle_committed;
// An empty slab leaves the pool's empty list, or its committed state.
void idle_leave(const SlabMeta* s);
// How far the idle cap is stretched now (policy.h over_idle_cap): empty
// slabs released early and taken again within the delay, recently.
extern std::atomic<size_t> g_idle_cap_stretch;
// An empty slab is taken from a pool at now: if it had been released
// early (policy.h reused_early), the cap stretches by it.
void note_empty_reused(const SlabMeta* s, uint64_t now);
// The stretch halves once a delay (decommit::run).
void decay_idle_cap_stretch(uint64_t now);

// Gives a range back to the kernel the way a says.
void release_range(char* p, size_t len, DecommitAction a);
// The pages of s in mask (bit i: the page at obj_addr + i * 4 KiB).
void release_pages(SlabMeta* s, uint32_t mask, DecommitAction a);
// Releases the pages every overlapping object of which is free; those
// objects leave the free list ("parked") until the slab reclaims them.
void release_free_pages(SlabMeta* s, DecommitAction a);
// Under the pool's lock: an empty slab's memory goes now; it starts afresh.
void release_empty_slab_locked(SlabMeta* s, DecommitAction a);
// The same in three steps, so that the pool's lock is not held across the
// madvise (threads taking and giving back slabs of the class would spin on
// it; bursts-2t: ~2,000 sched_yield calls in 0.05 s). Under the lock: s
// leaves the empty list (the caller's doing) and is detached: its
// SuperSlab counts it active, so no trim unmaps it meanwhile. Without the
// lock: its memory goes. Under the lock again: settled (it starts afresh,
// in its new state) and no longer active; the caller puts it back on a list.
void release_empty_slab_detach_locked(SlabMeta* s);
void release_empty_slab_memory(SlabMeta* s, DecommitAction a);
void release_empty_slab_settle_locked(SlabMeta* s, DecommitAction a);
// Applies the policy to slab s, which has live objects. Returns its next
// deadline.
uint64_t sweep_slab(SlabMeta* s, uint64_t now, bool over_budget);

}  // namespace hakmem::decommit
