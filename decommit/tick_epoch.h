// What asks LEAN's threads to look at their idle memory (heap_tick,
// core/small/tick.cc) without a counter on every free.
//
// Counting frees down to a tick cost every free a read-modify-write of a
// thread-local word, a chain of dependent stores: 13% of LEAN's speed on a
// loop of malloc and free (simple-loop). Instead each cache bin remembers the
// epoch it last ticked in, and free compares it with this global, a load
// that stays in the cache: the background thread moves the epoch on every
// half delay while the process is active, and the next free of each thread
// ticks. FAST never moves it (free's compare is then never true).
//
// Without the background thread (HAKMEM_DECOMMIT_THREAD=0, or it could not
// start) nothing would move the epoch: it is then kTickEveryFree, which no
// bin holds, so every free counts down to a tick as before
// (decommit/ticker.h). Slower, but the program's own calls still release
// its memory.
//
// Activity: slow paths and ticks set g_tick_active; the background thread
// clears it at each move of the epoch and stops moving it (no wake-ups of
// an idle process) when a half delay passed without any; the next slow path
// wakes it again.
#pragma once
#include <atomic>
#include <cstdint>

namespace hakmem::decommit {

inline constexpr uint32_t kTickEveryFree = UINT32_MAX;
extern std::atomic<uint32_t> g_tick_epoch;
extern std::atomic<bool> g_tick_active;  // (note_tick_activity's inline test)

// The epoch of a bin just set up: one the global never holds while the
// background thread moves it (it starts at 1 and skips 0), so the first free
// into a new class ticks. Else a class set up right after a move would match
// it, and a thread that then only cycles that class would note no activity:
// the thread would pause with that thread's idle bins never given back.
// FAST's global stays 0: its bins match it for good.
inline constexpr uint32_t kNewBinEpoch = 0;
// At start-up, and when the background thread could not start: whether the
// epoch moves (a background thread) or every free counts.
void tick_epoch_mode(bool moved_by_thread);
// A slow path or a tick ran: the process is active. Cheap when it is known
// already (one load); wakes the background thread if it had stopped moving
// the epoch.
void note_tick_activity_slow();
inline void note_tick_activity() {
  if (!g_tick_active.load(std::memory_order_relaxed)) note_tick_activity_slow();
}
// In a forked child: its new background thread starts out moving the epoch.
void tick_epoch_after_fork();
// The background thread, at now_ms: moves the epoch if a half delay has passed
// since it last did and the process was active meanwhile. Returns when to
// look again (UINT64_MAX: paused until note_tick_activity wakes it).
uint64_t tick_epoch_advance(uint64_t now_ms);

}  // namespace hakmem::decommit
