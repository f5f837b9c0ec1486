// The budget before a commit (LEAN): applies decommit/budget.h to the
// committed-bytes account (core/budget_account.h) with the releases of the
// decommit mechanism.
//
//   budget_room(bytes, small)        refill.cc (slab pages), api.cc (large blocks), tick.cc (0 bytes)
//     room_action (decommit/budget.h)
//     release_quiet                  every 1 MiB of slab commits
//       heap_return_bin              the caller's own bins of its quiet classes
//       decommit::run_masked         each heap's quiet classes, the pools' of classes quiet everywhere
//     release_all                    past the target or the limit
//       heap_flush_all(_locked)      the caller's own caches
//       decommit::run                everything idle, with DONTNEED
//     budget::reserve                the hard limit: false -> ENOMEM; true: bytes counted
#include "core/budget_account.h"
#include "core/platform/clock.h"
#include "core/small/slow_paths.h"
#include "core/small/thread_heap.h"
#include "decommit/run.h"

namespace hakmem {

static_assert(kNumClasses <= budget::kMaxClasses, "a set of classes is one 64-bit mask");

namespace {
// The hysteresis of decommit/budget.h. Threads race on it harmlessly: at
// worst one walk too many or one too few.
std::atomic<size_t> g_released_at{0};
std::atomic<uint64_t> g_quiet_checked_at{0};

void release_quiet(uint64_t total) {
  g_quiet_checked_at.store(total, std::memory_order_relaxed);
  const uint64_t span = budget::g_config.quiet_span_bytes;
  uint64_t refill_at[kNumClasses];
  for (unsigned c = 0; c < kNumClasses; ++c) refill_at[c] = budget::g_account.class_refill_at[c].load(std::memory_order_relaxed);
  const uint64_t everywhere = decommit::quiet_classes(refill_at, kNumClasses, total, span);
  // The caller's own cache bins of its quiet classes go back first: their
  // objects would pin their pages. (Other threads' bins have no lock; their
  // owners return them on their ticks.)
  ThreadHeap* h = tl_heap;
  if (h != &g_empty_heap && tl_heap_locked) {
    const uint64_t mine = decommit::quiet_classes(h->refill_at, kNumClasses, h->committed_total, span) & h->used_classes;
    for_each_class(mine, [h](unsigned c) { heap_return_bin(h, c); });
  }
  budget::g_account.quiet_releases.fetch_add(1, std::memory_order_relaxed);
  // A class in use by one thread may be quiet in another: each heap's own.
  // Wait for a run under way (another thread's timed sweep): leaving the
  // work to it would lose this release, as that run does not know the quiet
  // classes, and the next check is a span of commits away. (That run never
  // waits for this heap's lock, so it finishes.)
  const decommit::QuietCut cut{total, span};
  decommit::run_masked(os::now_ms(), everywhere, true, &cut);
}

void release_all() {
  budget::g_account.forced_releases.fetch_add(1, std::memory_order_relaxed);
  // The caller's own caches first: from inside its slow path (its heap lock
  // held, refilling its current slab, which stays current) or from outside.
  ThreadHeap* h = tl_heap;
  if (h != &g_empty_heap) {
    if (tl_heap_locked) heap_flush_all_locked(h, false);
    else heap_flush_all(h, true);
  }
  decommit::run(os::now_ms(), true);
  g_released_at.store(budget::committed(), std::memory_order_relaxed);
}
}  // namespace

bool budget_room(size_t bytes, bool small) {
  const decommit::BudgetConfig& cfg = budget::g_config;
  const decommit::BudgetState st{g_released_at.load(std::memory_order_relaxed),
                                 g_quiet_checked_at.load(std::memory_order_relaxed)};
  const uint64_t total = budget::g_account.small_total.load(std::memory_order_relaxed);
  switch (decommit::room_action(cfg, st, budget::committed(), bytes, small, total)) {
    case decommit::RoomAction::ReleaseQuiet: release_quiet(total); break;
    case decommit::RoomAction::ReleaseAll: release_all(); break;
    case decommit::RoomAction::None: break;
  }
  if (budget::reserve(bytes)) return true;
  budget::g_account.limit_failures.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace hakmem
