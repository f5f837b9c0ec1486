#include "decommit/run.h"

#include "core/budget_account.h"
#include "core/large/large.h"
#include "core/platform/clock.h"
#include "core/platform/proc.h"
#include "core/platform/spin_lock.h"
#include "core/platform/thread.h"
#include "core/runtime.h"
#include "decommit/deadline.h"
#include "decommit/release.h"
#include "decommit/sweep.h"
#include "decommit/tick_epoch.h"
#include "core/small/class_pool.h"

namespace hakmem::decommit {

namespace {
std::atomic<int> g_run_busy{0};  // 1 while a run is under way
}  // namespace

bool run_under_way() { return g_run_busy.load(std::memory_order_relaxed) != 0; }

bool run(uint64_t now, bool force) { return run_masked(now, force ? ~uint64_t{0} : 0, force, nullptr); }

bool run_masked(uint64_t now, uint64_t over_mask, bool wait, const QuietCut* quiet) {
  // One run at a time. A forced run waits for the one under way (which never
  // waits for a heap lock, so it finishes).
  for (int expected = 0; !g_run_busy.compare_exchange_weak(expected, 1, std::memory_order_acquire); expected = 0) {
    if (!wait) return false;
    os::yield_cpu();
  }
  // FAST, and LEAN with HAKMEM_MEM_LEAN_DECOMMIT=OFF, never release memory,
  // but orphaned slabs whose objects were all freed become reusable in both.
  bool release = g_rt.releases;
  // Over the budget (the committed-bytes account), everything idle goes with DONTNEED.
  if (release && over_budget(budget::committed(), budget::g_config.target_bytes)) over_mask = ~uint64_t{0};
  if (release) g_next_deadline.store(UINT64_MAX, std::memory_order_relaxed);
  if (release) decay_idle_cap_stretch(now);
  // Heaps first: slabs they give back empty are then released with the pools'.
  uint64_t next = release ? sweep_heaps(now, over_mask, quiet) : UINT64_MAX;
  g_orphans_freed.store(false, std::memory_order_relaxed);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    ClassPool& p = g_pools[c];
    const bool over = (over_mask >> c & 1) != 0;
    uint64_t d;
    {
      LockGuard g(p.lock);
      if (!release) {
        pool_sweep_orphans_locked(p, now);
        continue;
      }
      d = sweep_orphans_locked(p, now, over);  // (g_orphans_freed cleared above)
    }
    if (d < next) next = d;
    d = sweep_empty_slabs(p, now, over, g_rt.preset->superslabs_kept);
    if (d < next) next = d;
  }
  if (release) {
    uint64_t d = large::trim_cache(now, over_mask == ~uint64_t{0});
    note_deadline(d < next ? d : next);
  }
  g_last_run_ms.store(now, std::memory_order_relaxed);
  g_run_busy.store(0, std::memory_order_release);
  // The background thread may have looked while this run had cleared the
  // deadline, and gone to sleep with nothing pending: what this run left due
  // (noted above, or by slabs it emptied) would then wait for the program's
  // next allocator call, which an idle program never makes. Notes of an
  // earlier deadline wake it; this run's are not earlier than one it already
  // missed, so wake it here (once a run: runs are at least 5 ms apart).
  if (release && g_next_deadline.load(std::memory_order_relaxed) != UINT64_MAX) wake_background();
  return true;
}

void run_if_due_slow(uint64_t now) {
  if (!g_rt.releases) return;
  uint64_t d = g_next_deadline.load(std::memory_order_relaxed);
  if (d == UINT64_MAX) return;
  if (now >= run_due_at(d)) run(now, false);
}

void background_thread_wanted(bool wanted) {
  g_background_state.store(wanted ? BackgroundState::NotStarted : BackgroundState::Off);
  tick_epoch_mode(wanted);
}

void reset_after_fork() {
  // The parent's thread is not in the child: wanted again (core/fork.cc
  // starts it once every lock is released).
  if (g_background_state.load() == BackgroundState::Running) g_background_state.store(BackgroundState::NotStarted);
  // A run the fork interrupted (another thread's, which the child does not
  // have) had cleared the deadline and not yet noted what it left due: in
  // the child that memory would wait for the child's next free. Due now: the
  // child's thread, or its next tick or slow path, sweeps everything.
  if (g_run_busy.exchange(0)) note_deadline(os::now_ms_coarse());
  tick_epoch_after_fork();
}

}  // namespace hakmem::decommit
