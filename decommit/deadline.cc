#include "decommit/deadline.h"

#include "core/platform/clock.h"
#include "core/platform/thread.h"
#include "core/runtime.h"

namespace hakmem::decommit {

std::atomic<uint64_t> g_next_deadline{UINT64_MAX};
std::atomic<uint64_t> g_last_run_ms{0};
std::atomic<bool> g_orphans_freed{false};
std::atomic<uint32_t> g_background_seq{0};
std::atomic<BackgroundState> g_background_state{BackgroundState::Off};

bool note_earlier_deadline(uint64_t t) {
  uint64_t cur = g_next_deadline.load(std::memory_order_relaxed);
  while (t < cur)
    if (g_next_deadline.compare_exchange_weak(cur, t, std::memory_order_relaxed)) return true;
  return false;
}

// Slabs gain objects all the time in a busy program, each asking for a run a
// delay later: runs that are not forced come at most once per run_gap_ms (an
// eighth of a delay, at least 5 ms), so each slab is swept about once per
// delay at most and a run's fixed cost (every heap's classes, every pool)
// stays small. When a run for deadline d may start:
uint64_t run_due_at(uint64_t d) {
  const uint64_t gap = g_rt.decommit.delay_ms / 8 > 5 ? g_rt.decommit.delay_ms / 8 : 5;
  const uint64_t earliest = g_last_run_ms.load(std::memory_order_relaxed) + gap;
  return d > earliest ? d : earliest;
}

// Remote frees wait to be collected: a run soon (an eighth of a delay).
void note_remote_frees() {
  if (!g_rt.releases) return;
  const uint64_t soon = os::now_ms_coarse() + g_rt.decommit.delay_ms / 8;
  if (note_deadline(soon)) wake_background();
}

void wake_background() {
  if (!g_rt.opt.decommit_thread) return;
  g_background_seq.fetch_add(1, std::memory_order_release);
  // Not started yet: malloc's next slow path starts it (decommit/run.h).
  if (g_background_state.load(std::memory_order_relaxed) != BackgroundState::Running) return;
  os::futex_wake_one(&g_background_seq);
}

}  // namespace hakmem::decommit
