// When the next decommit run is due, and waking the background thread that
// waits for it. Every place that makes memory idle notes its deadline here
// (policy.h says when); decommit/run.cc acts on expired deadlines from the
// allocator's slow paths and ticks, decommit/background.cc from its thread.
#pragma once
#include <atomic>
#include <cstdint>

namespace hakmem::decommit {

// The earliest deadline noted since the last run; UINT64_MAX: none.
extern std::atomic<uint64_t> g_next_deadline;
// When the last run was.
extern std::atomic<uint64_t> g_last_run_ms;
// Set by a remote free into an orphan, cleared by the run that collects them.
extern std::atomic<bool> g_orphans_freed;

// Returns true if t is now the earliest deadline (the background thread,
// sleeping until a later one, must be woken). Inline: every slab that gains
// objects notes one, nearly always later than the one noted already.
bool note_earlier_deadline(uint64_t t);
inline bool note_deadline(uint64_t t) {
  if (t >= g_next_deadline.load(std::memory_order_relaxed)) return false;
  return note_earlier_deadline(t);
}
// When a run for deadline d may start (runs not forced are spaced out).
uint64_t run_due_at(uint64_t d);
// Remote frees wait to be collected: a run soon (an eighth of a delay).
void note_remote_frees();

// The background thread (HAKMEM_DECOMMIT_THREAD, on by default in LEAN): its
// wake-up word and whether it runs. Failed: pthread_create refused (a thread
// limit, a sandbox); not retried on every slow path, the program's own calls
// release as without the thread. Off: none wanted (FAST,
// HAKMEM_DECOMMIT_THREAD=0, or before start-up chose). NotStarted: wanted,
// until malloc's next slow path, or a forked child's fork handler, starts it
// (decommit/run.h).
enum class BackgroundState : int { Off, NotStarted, Running, Failed };
extern std::atomic<uint32_t> g_background_seq;
extern std::atomic<BackgroundState> g_background_state;
// Wakes the background thread, if there is one, to look at the deadline.
void wake_background();

}  // namespace hakmem::decommit
