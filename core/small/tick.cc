// LEAN's time check: when the tick epoch has moved (the background thread
// moves it every half delay while the process is active), or every
// tick_every owner frees without that thread (decommit/tick_epoch.h,
// decommit/ticker.h): a thread that only cycles objects through its caches
// never enters the other slow paths, yet its idle memory must still go.
//
//   heap_tick
//     adapt_tick                   decommit::next_tick_every (counting frees only)
//     heap_return_idle_bins        bins idle for half a delay, every bin once a delay
//     budget_room(0)               over the target? (at most every 10 ms)
//     decommit::run_if_due_at      any thread's tick releases what is due in every heap
#include "core/small/slow_paths.h"

#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"
#include "decommit/run.h"
#include "decommit/tick_epoch.h"
#include "decommit/ticker.h"

namespace hakmem {

namespace {
// Objects resting in a cache bin pin their pages, and no other thread may
// take them (the bins have no locks). Every half delay the owner looks at
// its bins: one whose top object has not changed since the last look has
// been idle that long and goes back to its slabs, aged from that look, so the sweep
// releases its pages about one delay after the bin went idle. Once a delay
// every bin goes back (a class in use refills once per delay, which costs
// nothing measurable). A thread that never calls again keeps what its bins
// hold: at most each class's cache limit, of a grown bin if it was cycling
// (README, LEAN).
void heap_return_idle_bins(ThreadHeap* h, uint64_t now) {
  const bool all = now - h->bins_returned_ms >= g_rt.decommit.delay_ms;
  const uint64_t clock = h->clock_ms;
  for_each_class(h->used_classes, [&](unsigned c) {
    const CacheBin& b = h->tc[c];
    FreeNode* top = bin_count(b) ? b.top[-1] : nullptr;
    const bool idle = top && top == h->bin_seen[c];
    if (idle || (all && top)) {
      // The slab_gained time: no later than the last look for an idle bin.
      h->clock_ms = idle ? h->bin_seen_ms : now;
      heap_return_bin(h, c);
      top = nullptr;
    }
    h->bin_seen[c] = top;
  });
  h->clock_ms = clock;
  h->bin_seen_ms = now;
  if (all) h->bins_returned_ms = now;
}

void adapt_tick(ThreadHeap* h, uint64_t now) {
  h->tick_every = decommit::next_tick_every(h->tick_every, now - h->last_tick_ms, g_rt.decommit.delay_ms);
  h->last_tick_ms = now;
  tl_cache.tick = h->tick_every;
}
}  // namespace

[[gnu::noinline]] void heap_tick(ThreadHeap* h) {
  const uint32_t epoch = decommit::g_tick_epoch.load(std::memory_order_relaxed);
  const uint64_t now = os::now_ms_coarse();
  if (epoch == decommit::kTickEveryFree) {
    // No background thread: free counted tl_cache.tick down to 0.
    adapt_tick(h, now);
  } else {
    // This tick answers the epoch for every bin of the thread.
    for_each_class(h->used_classes, [&](unsigned c) { h->tc[c].tick_epoch = epoch; });
    decommit::note_tick_activity();
  }
  h->clock_ms = now;
  if (now - h->bin_seen_ms >= g_rt.decommit.delay_ms / 2) {
    OwnerLock g(h);
    heap_return_idle_bins(h, now);
  }
  // Over the budget, idle memory goes at once, not only when the heap
  // grows: a program reusing what it has must be trimmed too (rate-limited:
  // a walk of every heap, held back further by the budget's hysteresis).
  if (g_rt.target_bytes && now - h->last_budget_ms >= 10) {
    h->last_budget_ms = now;
    budget_room(0, false);
  }
  // Any thread's tick releases what is due in every heap.
  decommit::run_if_due_at(now);
}

}  // namespace hakmem
