// The scheduler's entry points: when to run the sweep, and the run itself.
//
//   run_if_due_at (slow paths, heap_tick)   deadline passed (deadline.h)? run (coarse clock read by the caller)
//   run (hakmem_collect, background thread, the above)
//   run_masked (the budget, core/small/make_room.cc): some classes release at once
//     sweep_heaps, sweep_orphans_locked, sweep_empty_slabs   (sweep.h)
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
// Runs if a deadline has passed at now_ms (the coarse clock). Inline: every
// LEAN slow path asks, and mostly nothing is due (a load and a compare; the
// call cost bursts-2t 5 instructions per malloc or free).
void run_if_due_slow(uint64_t now_ms);
inline void run_if_due_at(uint64_t now_ms) {
  // (run_due_at(d) >= d: before d no run may start; UINT64_MAX: nothing pending.)
  if (now_ms < g_next_deadline.load(std::memory_order_relaxed)) return;
  run_if_due_slow(now_ms);
}
// Starts the background thread once (NotStarted only where the process
// releases memory and HAKMEM_DECOMMIT_THREAD=1: background_thread_wanted).
void start_background_thread();
// Starts the background thread if the process wants one and has none yet:
// called from malloc's slow paths only, never from free's. glibc frees a
// joined thread's TLS with free() while it holds the lock of its thread-stack
// cache, which pthread_create takes: a thread started from that free() waits
// for itself forever (thread-churn under LEAN hung so, 2 runs in 10). A
// malloc's slow path is the first of a process or thread, so the thread runs
// before anything is freed; a forked child gets its own in fork's child
// handler (core/fork.cc), where glibc's locks are fresh.
inline void start_background_thread_if_wanted() {
  if (__builtin_expect(g_background_state.load(std::memory_order_relaxed) == BackgroundState::NotStarted, 0))
    start_background_thread();
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
// At start-up: whether the process gets a background thread (NotStarted) or
// never (Off).
void background_thread_wanted(bool wanted);
// In a forked child: no run is under way; what a run interrupted by the fork
// left unswept is due at once; the parent's background thread does not
// exist in the child, so one is wanted again (NotStarted).
void reset_after_fork();

}  // namespace hakmem::decommit
