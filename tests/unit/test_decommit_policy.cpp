// The decommit policy, driven by a fake clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "decommit/policy.h"
#include "modes/presets.h"

using namespace hakmem;
using namespace hakmem::decommit;

namespace {

constexpr DecommitConfig cfg(DecommitMode m, uint64_t delay, uint64_t esc) {
  DecommitConfig c;
  c.mode = m;
  c.delay_ms = delay;
  c.escalate_ms = esc;
  return c;
}

// Step a span through time in 1 ms ticks; record when each action happens.
struct Timeline {
  uint64_t free_at = UINT64_MAX, dontneed_at = UINT64_MAX;
  ReleaseState final_state = ReleaseState::Committed;
  int actions = 0;
};
Timeline simulate(const DecommitConfig& c, uint64_t idle_since, uint64_t until, bool over_budget = false) {
  Timeline t;
  ReleaseState s = ReleaseState::Committed;
  for (uint64_t now = idle_since; now <= until; ++now) {
    DecommitAction a = decide(c, s, idle_since, now, over_budget);
    if (a == DecommitAction::ReleaseLazily) t.free_at = std::min(t.free_at, now);
    if (a == DecommitAction::ReleaseNow) t.dontneed_at = std::min(t.dontneed_at, now);
    if (a != DecommitAction::None) ++t.actions;
    s = state_after(s, a);
  }
  t.final_state = s;
  return t;
}

TEST(Policy, OffNeverReleases) {
  auto c = cfg(DecommitMode::Off, 0, 0);
  for (auto st : {ReleaseState::Committed, ReleaseState::LazyFree})
    for (uint64_t now : {0ull, 1ull, 1000000ull}) {
      EXPECT_EQ(decide(c, st, 0, now, false), DecommitAction::None);
      EXPECT_EQ(decide(c, st, 0, now, true), DecommitAction::None) << "Off must win over the budget";
    }
  EXPECT_EQ(next_deadline(c, ReleaseState::Committed, 5), UINT64_MAX);
}

TEST(Policy, FreeThenEscalateToDontNeed) {
  auto c = cfg(DecommitMode::ReleaseLazily, 200, 1000);
  Timeline t = simulate(c, 5000, 8000);
  EXPECT_EQ(t.free_at, 5200u);
  EXPECT_EQ(t.dontneed_at, 6200u);
  EXPECT_EQ(t.actions, 2) << "each stage must happen exactly once";
  EXPECT_EQ(t.final_state, ReleaseState::Released);
}

TEST(Policy, DontNeedModeSkipsFree) {
  auto c = cfg(DecommitMode::ReleaseNow, 50, 1000);
  Timeline t = simulate(c, 100, 3000);
  EXPECT_EQ(t.free_at, UINT64_MAX);
  EXPECT_EQ(t.dontneed_at, 150u);
  EXPECT_EQ(t.actions, 1);
  EXPECT_EQ(t.final_state, ReleaseState::Released);
}

TEST(Policy, NothingBeforeDelay) {
  auto c = cfg(DecommitMode::ReleaseLazily, 200, 100);
  for (uint64_t now = 1000; now < 1200; ++now)
    ASSERT_EQ(decide(c, ReleaseState::Committed, 1000, now, false), DecommitAction::None) << now;
  EXPECT_EQ(decide(c, ReleaseState::Committed, 1000, 1200, false), DecommitAction::ReleaseLazily);
  for (uint64_t now = 1200; now < 1300; ++now)
    ASSERT_EQ(decide(c, ReleaseState::LazyFree, 1000, now, false), DecommitAction::None) << now;
  EXPECT_EQ(decide(c, ReleaseState::LazyFree, 1000, 1300, false), DecommitAction::ReleaseNow);
}

TEST(Policy, ZeroDelayReleasesImmediately) {
  auto c = cfg(DecommitMode::ReleaseLazily, 0, 0);
  EXPECT_EQ(decide(c, ReleaseState::Committed, 77, 77, false), DecommitAction::ReleaseLazily);
  EXPECT_EQ(decide(c, ReleaseState::LazyFree, 77, 77, false), DecommitAction::ReleaseNow);
}

TEST(Policy, ReleasedIsTerminal) {
  for (auto m : {DecommitMode::ReleaseLazily, DecommitMode::ReleaseNow}) {
    auto c = cfg(m, 0, 0);
    EXPECT_EQ(decide(c, ReleaseState::Released, 0, 1u << 30, false), DecommitAction::None);
    EXPECT_EQ(decide(c, ReleaseState::Released, 0, 1u << 30, true), DecommitAction::None);
    EXPECT_EQ(next_deadline(c, ReleaseState::Released, 0), UINT64_MAX);
  }
}

TEST(Policy, OverBudgetReleasesAtOnceWithDontNeed) {
  auto c = cfg(DecommitMode::ReleaseLazily, 10000, 10000);
  EXPECT_EQ(decide(c, ReleaseState::Committed, 500, 500, true), DecommitAction::ReleaseNow);
  EXPECT_EQ(decide(c, ReleaseState::LazyFree, 500, 501, true), DecommitAction::ReleaseNow);
  Timeline t = simulate(c, 0, 10, true);
  EXPECT_EQ(t.dontneed_at, 0u);
  EXPECT_EQ(t.actions, 1);
}

TEST(Policy, ClockGoingBackwardsCountsAsNotIdle) {
  auto c = cfg(DecommitMode::ReleaseLazily, 100, 100);
  EXPECT_EQ(decide(c, ReleaseState::Committed, 1000, 10, false), DecommitAction::None);
  EXPECT_EQ(decide(c, ReleaseState::LazyFree, 1000, 10, false), DecommitAction::None);
}

TEST(Policy, DeadlineAgreesWithDecide) {
  // For every state and config: nothing before the deadline, an action at it.
  for (auto m : {DecommitMode::ReleaseLazily, DecommitMode::ReleaseNow})
    for (uint64_t delay : {0u, 1u, 37u, 200u})
      for (uint64_t esc : {0u, 5u, 1000u})
        for (auto st : {ReleaseState::Committed, ReleaseState::LazyFree}) {
          if (m == DecommitMode::ReleaseNow && st == ReleaseState::LazyFree) continue;
          auto c = cfg(m, delay, esc);
          uint64_t since = 12345;
          uint64_t d = next_deadline(c, st, since);
          ASSERT_NE(d, UINT64_MAX);
          if (d > since)
            EXPECT_EQ(decide(c, st, since, d - 1, false), DecommitAction::None)
                << "action before the deadline: delay " << delay << " esc " << esc;
          EXPECT_NE(decide(c, st, since, d, false), DecommitAction::None)
              << "no action at the deadline: delay " << delay << " esc " << esc;
        }
}

TEST(Policy, AfterTransitions) {
  EXPECT_EQ(state_after(ReleaseState::Committed, DecommitAction::None), ReleaseState::Committed);
  EXPECT_EQ(state_after(ReleaseState::Committed, DecommitAction::ReleaseLazily), ReleaseState::LazyFree);
  EXPECT_EQ(state_after(ReleaseState::Committed, DecommitAction::ReleaseNow), ReleaseState::Released);
  EXPECT_EQ(state_after(ReleaseState::LazyFree, DecommitAction::None), ReleaseState::LazyFree);
  EXPECT_EQ(state_after(ReleaseState::LazyFree, DecommitAction::ReleaseNow), ReleaseState::Released);
  EXPECT_EQ(state_after(ReleaseState::Released, DecommitAction::None), ReleaseState::Released);
}

TEST(Policy, Budget) {
  EXPECT_FALSE(over_budget(size_t{1} << 40, 0)) << "target 0 means no budget";
  EXPECT_FALSE(over_budget(100, 100));
  EXPECT_TRUE(over_budget(101, 100));
  EXPECT_FALSE(over_budget(99, 100));
}

TEST(Policy, UsableInConstantExpressions) {
  constexpr auto c = cfg(DecommitMode::ReleaseLazily, 10, 20);
  static_assert(decide(c, ReleaseState::Committed, 0, 10, false) == DecommitAction::ReleaseLazily);
  static_assert(decide(c, ReleaseState::LazyFree, 0, 29, false) == DecommitAction::None);
  static_assert(decide(c, ReleaseState::LazyFree, 0, 30, false) == DecommitAction::ReleaseNow);
  SUCCEED();
}

TEST(Policy, IdleCap) {
  DecommitConfig cfg{DecommitMode::ReleaseLazily, 1000, 1000, size_t{2} << 20};
  EXPECT_FALSE(over_idle_cap(cfg, 0));
  EXPECT_FALSE(over_idle_cap(cfg, size_t{2} << 20)) << "at the cap is not over it";
  EXPECT_TRUE(over_idle_cap(cfg, (size_t{2} << 20) + 1));
  EXPECT_EQ(first_stage(cfg), DecommitAction::ReleaseLazily);
  cfg.mode = DecommitMode::ReleaseNow;
  EXPECT_EQ(first_stage(cfg), DecommitAction::ReleaseNow);
  cfg.mode = DecommitMode::Off;
  EXPECT_FALSE(over_idle_cap(cfg, size_t{1} << 40)) << "OFF releases nothing, cap or not";
  EXPECT_EQ(first_stage(cfg), DecommitAction::None);
  DecommitConfig nocap{DecommitMode::ReleaseLazily, 1000, 1000, 0};
  EXPECT_FALSE(over_idle_cap(nocap, size_t{1} << 40)) << "0: no cap";
  // The presets: LEAN caps idle memory, FAST never releases.
  EXPECT_GT(kLeanPreset.idle_cap_bytes, 0u);
  EXPECT_EQ(kFastPreset.idle_cap_bytes, 0u);
}

TEST(Policy, IdleCapStretchesByEarlyReuse) {
  constexpr size_t kMiB = size_t{1} << 20;
  DecommitConfig cfg{DecommitMode::ReleaseLazily, 200, 200, 2 * kMiB, 8 * kMiB};
  EXPECT_TRUE(over_idle_cap(cfg, 3 * kMiB)) << "no stretch: the cap";
  EXPECT_FALSE(over_idle_cap(cfg, 3 * kMiB, 1 * kMiB));
  EXPECT_TRUE(over_idle_cap(cfg, 3 * kMiB + 1, 1 * kMiB));
  EXPECT_FALSE(over_idle_cap(cfg, 10 * kMiB, 100 * kMiB)) << "stretched at most by the maximum";
  EXPECT_TRUE(over_idle_cap(cfg, 10 * kMiB + 1, 100 * kMiB));
  cfg.idle_cap_stretch_max = 0;
  EXPECT_TRUE(over_idle_cap(cfg, 3 * kMiB, 100 * kMiB)) << "a maximum of 0 (mallopt's own threshold): no stretch";
  // Early: released (not Committed) and taken again within an eighth of the delay (25 ms).
  EXPECT_TRUE(reused_early(cfg, ReleaseState::LazyFree, 1000, 1024));
  EXPECT_TRUE(reused_early(cfg, ReleaseState::Released, 1000, 1000));
  EXPECT_FALSE(reused_early(cfg, ReleaseState::LazyFree, 1000, 1025)) << "reused a phase later: the release was cheap";
  EXPECT_FALSE(reused_early(cfg, ReleaseState::Committed, 1000, 1001)) << "never released: nothing wasted";
  EXPECT_FALSE(reused_early(cfg, ReleaseState::LazyFree, 1000, 999)) << "a clock read before the slab emptied";
  DecommitConfig nodelay{DecommitMode::ReleaseLazily, 0, 0, 2 * kMiB, 8 * kMiB};
  EXPECT_FALSE(reused_early(nodelay, ReleaseState::LazyFree, 1000, 1000)) << "delay 0: release is wanted at once";
}

// A wholly empty SuperSlab is unmapped only once its newest empty slab has
// been idle for the delay: one emptied by an exiting thread and refilled by
// the next is not idle.
TEST(Policy, IdleForDelay) {
  const DecommitConfig c = cfg(DecommitMode::ReleaseLazily, 200, 1000);
  EXPECT_FALSE(idle_for_delay(c, 1000, 1000, false));
  EXPECT_FALSE(idle_for_delay(c, 1000, 1199, false));
  EXPECT_TRUE(idle_for_delay(c, 1000, 1200, false));
  EXPECT_FALSE(idle_for_delay(c, 1000, 900, false)) << "a clock read before the slab emptied";
  EXPECT_TRUE(idle_for_delay(c, 1000, 1000, true)) << "over the budget: at once";
  EXPECT_TRUE(idle_for_delay(cfg(DecommitMode::ReleaseLazily, 0, 0), 1000, 1000, false)) << "delay 0";
}

// Freed large mappings: committed within the budget, lazily released beyond
// it (LEAN) rather than unmapped, so a phase reused within the delay takes
// no fault; FAST (no lazy budget) pushes out the oldest instead.
TEST(Policy, LargeKeep) {
  constexpr size_t kMiB = size_t{1} << 20, k64K = size_t{64} << 10;
  const DecommitConfig lean{DecommitMode::ReleaseLazily, 200, 1000, 2 * kMiB};
  EXPECT_EQ(large_keep(lean, 0, k64K, 8 * kMiB, 64 * kMiB), LargeKeep::Committed);
  EXPECT_EQ(large_keep(lean, 8 * kMiB - k64K, k64K, 8 * kMiB, 64 * kMiB), LargeKeep::Committed) << "fits exactly";
  EXPECT_EQ(large_keep(lean, 8 * kMiB, k64K, 8 * kMiB, 64 * kMiB), LargeKeep::Lazily) << "budget full";
  EXPECT_EQ(large_keep(lean, 0, 24 * kMiB, 8 * kMiB, 64 * kMiB), LargeKeep::Lazily) << "larger than the budget";
  EXPECT_EQ(large_keep(lean, 0, 65 * kMiB, 8 * kMiB, 64 * kMiB), LargeKeep::Unmap) << "larger than both";
  EXPECT_EQ(large_keep(lean, 8 * kMiB, k64K, 8 * kMiB, 0), LargeKeep::Committed) << "no lazy budget: push out the oldest";
  const DecommitConfig dontneed{DecommitMode::ReleaseNow, 200, 1000, 2 * kMiB};
  EXPECT_EQ(large_keep(dontneed, 8 * kMiB, k64K, 8 * kMiB, 64 * kMiB), LargeKeep::Committed)
      << "DONTNEED first: reuse would fault like a new mapping; push out the oldest as before";
  EXPECT_EQ(large_keep(dontneed, 0, 24 * kMiB, 8 * kMiB, 64 * kMiB), LargeKeep::Unmap);
  const DecommitConfig off{DecommitMode::Off, 200, 1000, 0};
  EXPECT_EQ(large_keep(off, 8 * kMiB, k64K, 8 * kMiB, 64 * kMiB), LargeKeep::Committed) << "OFF releases nothing";
  EXPECT_EQ(large_keep(off, 0, 24 * kMiB, 8 * kMiB, 64 * kMiB), LargeKeep::Unmap);
  // The presets: LEAN has a lazy budget above its committed one, FAST none.
  EXPECT_GT(kLeanPreset.large_cache_lazy_bytes, kLeanPreset.large_cache_bytes);
  EXPECT_EQ(kFastPreset.large_cache_lazy_bytes, 0u);
}

}  // namespace
