// The scheduler's entry points: when to run the sweep, and the run itself.
//
//   run_if_due_at (slow paths, heap_tick)   deadline passed (deadline.h)? run (coarse clock read by the caller)
//   run (hakmem_collect, background thread, the above)
//   run_masked (the budget, core/small/make_room.cc): some classes release at once
//     sweep_heaps, sweep_orphans_locked, sweep_empty_slabs_locked   (sweep.h)
//     pool_trim_superslabs_locked, large::trim_cache
#pragma once
#include <cstdint>

#include "decommit/deadline.h"

namespace hakmem::decommit {

// Releases what is due now (force: every free page and idle cache, with
// DONTNEED) in every slab: every heap's (current, partial, full, swept),
// orphaned and empty ones, and the large cache. Called with no heap lock held
// or from the calling thread's own slow path (its heap lock held). Returns
// false if it did not run: another run was under way (only when not forced).
bool run(uint64_t now_ms, bool force);
// Runs if a deadline has passed at now_ms (the coarse clock), and starts
// the background thread once something waits to be released. Inline: every
// LEAN slow path asks, and mostly nothing is due (a load and two compares;
// the call cost bursts-2t 5 instructions per malloc or free).
void run_if_due_slow(uint64_t now_ms);
inline void run_if_due_at(uint64_t now_ms) {
  const uint64_t d = g_next_deadline.load(std::memory_order_relaxed);
  if (d == UINT64_MAX) return;
  // (run_due_at(d) >= d: before d no run may start.)
  if (now_ms < d && g_background_state.load(std::memory_order_relaxed) != BackgroundState::NotStarted) return;
  run_if_due_slow(now_ms);
}
// Which classes of a heap are quiet (decommit/budget.h quiet_classes): those
// it has not used while it committed span bytes of slab memory itself.
struct QuietCut {
  uint64_t small_total, span;
};
// A run in which the classes in over_mask (bit c: class c) release
// everything idle with DONTNEED at once (all of them: the large cache too),
// and with quiet each heap's quiet classes as well. wait: wait for a run
// under way instead of leaving it the work.
bool run_masked(uint64_t now_ms, uint64_t over_mask, bool wait, const QuietCut* quiet);
// Whether a run is under way (a run not forced would return at once).
bool run_under_way();
// Starts the background thread (HAKMEM_DECOMMIT_THREAD=1) once.
void start_background_thread();
// In a forked child: no run is under way, no background thread exists; what
// a run interrupted by the fork left unswept is due at once.
void reset_after_fork();

}  // namespace hakmem::decommit
