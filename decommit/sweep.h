// The sweep: walks every slab that may hold idle memory and applies the
// release mechanism (release.h) to what is due.
// The sweep of slabs that hold live objects. It reaches every slab with free
// objects: each heap's current, partial, full and swept slabs (full ones
// through their remote bitmaps) and the orphans. It costs what is due, not
// what exists: a heap keeps its slabs with unswept free objects in the order
// they gained them, and those with pages waiting to escalate in the order
// they were swept, so each walk stops at the first slab not yet due.
//
// run (decommit/run.cc)
//   sweep_heap_locked              each live heap, try-locked: its owner never waits
//     collect_remote_locked        a class that had remote frees: every slab's remote bitmap
//     sweep_slab                   partial slabs due, oldest first; the current slab
//       release_pages(Now)         pages an earlier sweep released with MADV_FREE
//       release_free_pages         pages all of whose objects are free: the first stage
//     sweep_slab                   lazy slabs due: their MADV_FREE pages escalate
//   sweep_orphans_locked           the same for orphans, under the pool lock
//   sweep_empty_slabs              empty slabs, released without the pool lock
//     pool_trim_superslabs_locked  wholly empty SuperSlabs (core/small/class_pool.cc)
//   large::trim_cache
#pragma once
#include <cstdint>

#include "core/small/class_pool.h"
#include "decommit/run.h"

namespace hakmem::decommit {

// Sweeps every live heap (try-locking each but the caller's own); the
// classes in over_mask, and with quiet each heap's quiet classes, release all
// their free pages at once. Returns the next deadline.
uint64_t sweep_heaps(uint64_t now, uint64_t over_mask, const QuietCut* quiet);
// p.lock held: orphans. Collects their remote frees, makes the empty ones
// empty slabs and sweeps the rest. Returns the next deadline.
uint64_t sweep_orphans_locked(ClassPool& p, uint64_t now, bool over_budget);
// Empty slabs that are due, released without p.lock (taken here) a batch
// at a time; then the wholly empty SuperSlabs beyond superslabs_kept that
// have been idle long enough are unmapped. Returns the next deadline.
inline constexpr unsigned kEmptyReleaseBatch = 64;
uint64_t sweep_empty_slabs(ClassPool& p, uint64_t now, bool over_budget, uint32_t superslabs_kept);

}  // namespace hakmem::decommit
