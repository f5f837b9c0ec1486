// How often a thread's frees read the clock when no background thread moves
// the tick epoch (decommit/tick_epoch.h; pure, like policy.h).
//
// A thread's owner frees count down to a "tick", where its heap reads the
// coarse clock and looks for idle memory. Ticks come every `every` frees,
// aiming at one per eighth of a delay: a thread freeing slowly ticks often
// enough to release memory in time. The cap bounds how long a thread that
// slows down from a burst to a trickle waits for its first tick
// (kTickEveryMax = 64 frees: 0.64 s at 100 frees/s); a busy thread pays one
// coarse clock read per 64 frees.
#pragma once
#include <cstdint>

namespace hakmem::decommit {

inline constexpr uint32_t kTickEveryMax = 64;

// Frees between ticks for a mode that releases memory (FAST never ticks).
constexpr uint32_t first_tick_every(bool releases) { return releases ? kTickEveryMax : UINT32_MAX; }

// The interval after a tick that came elapsed_ms after the previous one.
constexpr uint32_t next_tick_every(uint32_t every, uint64_t elapsed_ms, uint64_t delay_ms) {
  const uint64_t target = delay_ms / 8 ? delay_ms / 8 : 1;
  if (elapsed_ms < target / 2) return every * 2 < kTickEveryMax ? every * 2 : kTickEveryMax;
  if (elapsed_ms > target * 2) {
    uint64_t e = every * target / elapsed_ms;
    return e ? static_cast<uint32_t>(e) : 1;
  }
  return every;
}

}  // namespace hakmem::decommit
