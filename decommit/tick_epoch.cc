#include "decommit/tick_epoch.h"

#include "core/runtime.h"
#include "decommit/deadline.h"

namespace hakmem::decommit {

std::atomic<uint32_t> g_tick_epoch{0};
std::atomic<bool> g_tick_active{false};

namespace {
std::atomic<bool> g_ticks_paused{false};
uint64_t g_next_move_ms = 0;  // the background thread's own
}  // namespace

void tick_epoch_mode(bool moved_by_thread) {
  const uint32_t e = !g_rt.releases ? kNewBinEpoch : moved_by_thread ? kNewBinEpoch + 1 : kTickEveryFree;
  g_tick_epoch.store(e, std::memory_order_relaxed);
}

void note_tick_activity_slow() {
  // seq_cst with tick_epoch_advance's pause: one of the two sees the other's
  // store, so activity never goes unseen by a thread that paused.
  g_tick_active.store(true, std::memory_order_seq_cst);
  if (g_ticks_paused.load(std::memory_order_seq_cst) && g_ticks_paused.exchange(false)) wake_background();
}

void tick_epoch_after_fork() {
  g_ticks_paused.store(false);
  g_tick_active.store(true);
}

uint64_t tick_epoch_advance(uint64_t now_ms) {
  if (g_tick_epoch.load(std::memory_order_relaxed) == kTickEveryFree) return UINT64_MAX;
  if (g_ticks_paused.load(std::memory_order_relaxed)) return UINT64_MAX;
  if (now_ms < g_next_move_ms) return g_next_move_ms;
  if (!g_tick_active.exchange(false, std::memory_order_seq_cst)) {
    g_ticks_paused.store(true, std::memory_order_seq_cst);
    if (!g_tick_active.load(std::memory_order_seq_cst)) return UINT64_MAX;
    g_ticks_paused.store(false, std::memory_order_relaxed);
  }
  uint32_t e = g_tick_epoch.load(std::memory_order_relaxed) + 1;
  if (e == kTickEveryFree) e = kNewBinEpoch + 1;
  g_tick_epoch.store(e, std::memory_order_relaxed);
  const uint64_t half = g_rt.decommit.delay_ms / 2 ? g_rt.decommit.delay_ms / 2 : 1;
  g_next_move_ms = now_ms + half;
  return g_next_move_ms;
}

}  // namespace hakmem::decommit
