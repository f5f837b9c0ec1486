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
// The hysteresis of decommit/budget.h. Threads race on g_released_at
// harmlessly: at worst one walk too many or one too few. g_quiet_checked_at
// is claimed (budget_room), so one thread releases the quiet classes per span.
std::atomic<size_t> g_released_at{0};
std::atomic<uint64_t> g_quiet_checked_at{0};

// Returns false if another run was under way (nothing was released).
bool release_quiet(uint64_t total) {
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
  // A class in use by one thread may be quiet in another: each heap's own.
  // Not while another run is under way (that run does not know the quiet
  // classes): the caller gives its claim back and the next commit tries
  // again. Waiting here, with this heap's lock held, made that run spin on
  // the lock it must take to sweep this heap while this thread spun on the
  // run: 11,000 sched_yield calls in multi-thread-4.
  const decommit::QuietCut cut{total, span};
  if (!decommit::run_masked(os::now_ms(), everywhere, false, &cut)) return false;
  budget::g_account.quiet_releases.fetch_add(1, std::memory_order_relaxed);
  return true;
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
    case decommit::RoomAction::ReleaseQuiet: {
      // One thread per span: threads that cross it together (they all
      // commit while ramping up) would each walk every heap (multi-thread-4:
      // 40,000 sched_yield calls). The one that moves the mark releases;
      // the others commit. If a run was under way the mark goes back, so
      // the release is not lost, only moved to the next commit.
      // (A run seen under way is not even tried: the next commit looks again.)
      const uint64_t seen = st.quiet_checked_at;
      uint64_t expected = seen;
      if (!decommit::run_under_way() &&
          g_quiet_checked_at.compare_exchange_strong(expected, total, std::memory_order_relaxed) &&
          !release_quiet(total)) {
        expected = total;
        g_quiet_checked_at.compare_exchange_strong(expected, seen, std::memory_order_relaxed);
      }
      break;
    }
    case decommit::RoomAction::ReleaseAll: release_all(); break;
    case decommit::RoomAction::None: break;
  }
  if (budget::reserve(bytes)) return true;
  budget::g_account.limit_failures.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace hakmem
