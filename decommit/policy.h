// The decommit policy: which idle memory to release, when, and how.
//
// Pure code: time is an argument, no syscalls, no locks, so tests drive it
// with a fake clock. The mechanism (decommit/release.*, decommit/sweep.*)
// asks it what to do with each idle slab or page range and calls the
// platform layer; the scheduler (decommit/run.*) decides when to ask.
//
// Words: memory is released "lazily" (MADV_FREE: it stays in RSS until the
// kernel wants it) or "now" (MADV_DONTNEED: RSS drops at once); the option
// HAKMEM_MEM_LEAN_DECOMMIT=FREE|DONTNEED|OFF picks the first stage.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem {

// The option values; used by modes/ as well.

// First release stage chosen by HAKMEM_MEM_LEAN_DECOMMIT.
enum class DecommitMode : uint8_t { Off, ReleaseLazily, ReleaseNow };

namespace decommit {

// What has been done to an idle range (a slab, a slab's free pages) so far.
enum class ReleaseState : uint8_t { Committed, LazyFree, Released };

enum class DecommitAction : uint8_t { None, ReleaseLazily, ReleaseNow };

enum class LargeKeep : uint8_t { Committed, Lazily, Unmap };

struct DecommitConfig {
  DecommitMode mode = DecommitMode::Off;
  uint64_t delay_ms = 0;          // idle time before the first release
  uint64_t escalate_ms = 0;       // further idle time before FREE becomes DONTNEED
  size_t idle_cap_bytes = 0;      // committed idle memory kept at most (0: no cap)
  size_t idle_cap_stretch_max = 0; // how far reuse may stretch the cap (0: not at all; see over_idle_cap)
};

// What to do now with a range idle since idle_since_ms.
// over_budget: RSS is above HAKMEM_MEM_LEAN_TARGET_MB; then every idle range is
// released with DONTNEED at once, whatever its age.
constexpr DecommitAction decide(const DecommitConfig& cfg, ReleaseState state, uint64_t idle_since_ms,
                                uint64_t now_ms, bool over_budget) {
  if (cfg.mode == DecommitMode::Off || state == ReleaseState::Released) return DecommitAction::None;
  if (over_budget) return DecommitAction::ReleaseNow;
  uint64_t idle = now_ms >= idle_since_ms ? now_ms - idle_since_ms : 0;
  if (state == ReleaseState::Committed) {
    if (idle < cfg.delay_ms) return DecommitAction::None;
    return cfg.mode == DecommitMode::ReleaseLazily ? DecommitAction::ReleaseLazily : DecommitAction::ReleaseNow;
  }
  // LazyFree: escalate once it has stayed idle for the second period too.
  return idle >= cfg.delay_ms + cfg.escalate_ms ? DecommitAction::ReleaseNow : DecommitAction::None;
}

// When the range will next need attention; UINT64_MAX when never.
constexpr uint64_t next_deadline(const DecommitConfig& cfg, ReleaseState state, uint64_t idle_since_ms) {
  if (cfg.mode == DecommitMode::Off || state == ReleaseState::Released) return UINT64_MAX;
  if (state == ReleaseState::Committed) return idle_since_ms + cfg.delay_ms;
  return idle_since_ms + cfg.delay_ms + cfg.escalate_ms;
}

// The state a range is in after an action.
constexpr ReleaseState state_after(ReleaseState s, DecommitAction a) {
  switch (a) {
    case DecommitAction::ReleaseLazily: return ReleaseState::LazyFree;
    case DecommitAction::ReleaseNow: return ReleaseState::Released;
    default: return s;
  }
}

// Idle memory beyond the cap is not kept for the delay: a burst that is freed
// all at once gives back all but the cap right away.
//
// Unless the program has shown that it takes such memory back at once: an
// empty slab the cap released and that was taken again within the delay
// (reused_early) was released for nothing: a madvise call, a TLB flush on
// every CPU the process runs on, and with DONTNEED a page fault per page.
// A program that frees and allocates bursts of several MiB did that for
// nearly every slab of each burst (bursts-2t: 7,000 madvise calls in 0.3 s).
// stretch is the memory so reused recently (the mechanism halves it every
// delay); the cap stretches by it, up to idle_cap_stretch_max (LEAN: 4 times
// the cap, so 10 MiB in all: a program that frees everything and stops right
// after keeps at most that much more until the delay; with 16 times, phases'
// RSS − LazyFree after its last free was 47 MB instead of 15, for no gain
// in speed over 4 times). Whatever the stretch, idle memory still goes once
// it has been idle for the delay.
constexpr bool over_idle_cap(const DecommitConfig& cfg, size_t idle_committed_bytes, size_t stretch = 0) {
  const size_t extra = stretch < cfg.idle_cap_stretch_max ? stretch : cfg.idle_cap_stretch_max;
  return cfg.mode != DecommitMode::Off && cfg.idle_cap_bytes != 0 && idle_committed_bytes > cfg.idle_cap_bytes + extra;
}

// Whether an empty slab taken again at now, in state state and empty since
// idle_since_ms, had been released (by the idle cap or the budget: the
// sweep waits for the delay) only to be taken back within an eighth of the
// delay. A release costs a few microseconds: one wasted every few dozen
// milliseconds per slab costs nothing measurable, so only reuse that fast
// counts (compare/'s phases reuses its classes a phase later and keeps its
// cap: the memory it frees at the end goes at once).
constexpr bool reused_early(const DecommitConfig& cfg, ReleaseState state, uint64_t idle_since_ms, uint64_t now_ms) {
  return state != ReleaseState::Committed && now_ms >= idle_since_ms && now_ms - idle_since_ms < cfg.delay_ms / 8;
}

// The first release stage, for a committed range released before its time.
constexpr DecommitAction first_stage(const DecommitConfig& cfg) {
  switch (cfg.mode) {
    case DecommitMode::ReleaseLazily: return DecommitAction::ReleaseLazily;
    case DecommitMode::ReleaseNow: return DecommitAction::ReleaseNow;
    default: return DecommitAction::None;
  }
}

// Whether memory whose newest part has been idle since idle_since_ms may be
// unmapped (a wholly empty SuperSlab): only once that part has stayed idle
// for the delay, or at once over the budget. One emptied by a thread that
// has just exited is refilled by the next thread, which would otherwise
// fault every page in again.
constexpr bool idle_for_delay(const DecommitConfig& cfg, uint64_t idle_since_ms, uint64_t now_ms, bool over_budget) {
  if (over_budget) return true;
  return now_ms >= idle_since_ms && now_ms - idle_since_ms >= cfg.delay_ms;
}

// Where a freed large mapping of len bytes is kept (core/large), given the
// committed bytes the large cache holds and its budget for them.
//   Committed  kept as it is (pushing out the oldest cached mappings if the
//              budget is full: FAST, and LEAN when lazy_budget is 0)
//   Lazily     released with MADV_FREE and kept until the delay: it is not
//              idle until it has stayed unused for the delay, so a program
//              that frees a phase of large blocks and allocates them again
//              within it takes no page fault, while RSS − LazyFree stays
//              within the committed budget (only when the first stage is
//              MADV_FREE: reusing a block released with DONTNEED faults like
//              a new mapping, and keeping it would push out committed ones)
//   Unmap      too large for either budget
constexpr LargeKeep large_keep(const DecommitConfig& cfg, size_t committed_bytes, size_t len, size_t budget,
                               size_t lazy_budget) {
  if (committed_bytes + len <= budget) return LargeKeep::Committed;
  if (first_stage(cfg) == DecommitAction::ReleaseLazily && lazy_budget != 0 && len <= lazy_budget)
    return LargeKeep::Lazily;
  return len <= budget ? LargeKeep::Committed : LargeKeep::Unmap;
}

// RSS budget check: target 0 means no budget.
constexpr bool over_budget(size_t rss_bytes, size_t target_bytes) {
  return target_bytes != 0 && rss_bytes > target_bytes;
}

}  // namespace decommit

}  // namespace hakmem
