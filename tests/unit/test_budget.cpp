// The budget policy (decommit/budget.h): pure, driven with made-up accounts.
#include <gtest/gtest.h>

#include "decommit/budget.h"

using namespace hakmem::decommit;

namespace {

constexpr size_t MiB = size_t{1} << 20;

TEST(Budget, NothingSetNothingDone) {
  BudgetConfig cfg;
  BudgetState st;
  EXPECT_EQ(room_action(cfg, st, 900 * MiB, 64 * MiB, true, 900 * MiB), RoomAction::None);
  EXPECT_TRUE(commit_allowed(cfg, 900 * MiB, 64 * MiB));
}

TEST(Budget, TargetReleasesAllBeforeCommittingPastIt) {
  BudgetConfig cfg{64 * MiB, 0, 0};
  BudgetState st;
  EXPECT_EQ(room_action(cfg, st, 60 * MiB, 64 << 10, true, 0), RoomAction::None) << "under the target";
  EXPECT_EQ(room_action(cfg, st, 64 * MiB, 0, true, 0), RoomAction::None) << "at the target";
  EXPECT_EQ(room_action(cfg, st, 64 * MiB - 4096, 8192, true, 0), RoomAction::ReleaseAll) << "the commit would pass it";
  EXPECT_EQ(room_action(cfg, st, 64 * MiB, 4 * MiB, false, 0), RoomAction::ReleaseAll) << "large blocks too";
  // The target is soft: with nothing left to release the memory is committed.
  EXPECT_TRUE(commit_allowed(cfg, 80 * MiB, 4 * MiB));
}

TEST(Budget, TargetReleaseWaitsForGrowthAfterOneThatLeftItOver) {
  BudgetConfig cfg{64 * MiB, 0, 0};
  const size_t step = release_retry_bytes(cfg);
  EXPECT_EQ(step, MiB) << "a 64th of the target";
  BudgetState st{70 * MiB, 0};  // the last release left 70 MiB committed
  EXPECT_EQ(room_action(cfg, st, 70 * MiB, 4096, true, 0), RoomAction::None) << "nothing idle was left then";
  EXPECT_EQ(room_action(cfg, st, 70 * MiB + step - 4096, 4096, true, 0), RoomAction::None);
  EXPECT_EQ(room_action(cfg, st, 70 * MiB + step, 4096, true, 0), RoomAction::ReleaseAll) << "grown by a step since";
  // A release that got under the target does not hold back the next.
  BudgetState under{40 * MiB, 0};
  EXPECT_EQ(room_action(cfg, under, 64 * MiB, 4096, true, 0), RoomAction::ReleaseAll);
  EXPECT_EQ(release_retry_bytes(BudgetConfig{4 * MiB, 0, 0}), size_t{256} << 10) << "a floor for small budgets";
}

TEST(Budget, LimitReleasesEveryTimeAndRefusesPastIt) {
  BudgetConfig cfg{0, 58 * MiB, 0};
  BudgetState st{58 * MiB, 0};  // a release just ran: at the limit every request looks again
  EXPECT_EQ(room_action(cfg, st, 58 * MiB, 4096, true, 0), RoomAction::ReleaseAll);
  EXPECT_EQ(room_action(cfg, st, 58 * MiB - 4096, 4096, true, 0), RoomAction::None) << "exactly at the limit fits";
  EXPECT_TRUE(commit_allowed(cfg, 58 * MiB - 4096, 4096));
  EXPECT_FALSE(commit_allowed(cfg, 58 * MiB - 4096, 8192));
  EXPECT_FALSE(commit_allowed(cfg, 10 * MiB, 100 * MiB)) << "one large block past the limit";
  // Below the target and the limit, with both set: the limit acts even when
  // a target release is held back.
  BudgetConfig both{40 * MiB, 58 * MiB, 0};
  BudgetState held{57 * MiB, 0};
  EXPECT_EQ(room_action(both, held, 57 * MiB, 4096, true, 0), RoomAction::None);
  EXPECT_EQ(room_action(both, held, 57 * MiB, 2 * MiB, true, 0), RoomAction::ReleaseAll);
}

TEST(Budget, QuietReleaseOncePerSpanOfSlabCommits) {
  BudgetConfig cfg{0, 0, MiB};
  BudgetState st{0, 10 * MiB};  // the last quiet release at 10 MiB committed ever
  EXPECT_EQ(room_action(cfg, st, 5 * MiB, 4096, true, 10 * MiB + 4096), RoomAction::None);
  EXPECT_EQ(room_action(cfg, st, 5 * MiB, 4096, true, 11 * MiB), RoomAction::ReleaseQuiet);
  EXPECT_EQ(room_action(cfg, st, 5 * MiB, 4096, false, 11 * MiB), RoomAction::None)
      << "a large block's commit is not a move between small sizes";
  EXPECT_EQ(room_action(BudgetConfig{}, st, 5 * MiB, 4096, true, 11 * MiB), RoomAction::None) << "off";
  // Over the target, everything goes, not only the quiet classes.
  BudgetConfig target{4 * MiB, 0, MiB};
  EXPECT_EQ(room_action(target, st, 5 * MiB, 4096, true, 11 * MiB), RoomAction::ReleaseAll);
}

TEST(Budget, QuietClassesAreThoseThatDidNotRefillDuringTheSpan) {
  uint64_t refill_at[64] = {};
  const uint64_t now = 100 * MiB;
  for (unsigned c = 0; c < 64; ++c) refill_at[c] = now;  // all busy
  EXPECT_EQ(quiet_classes(refill_at, 64, now, MiB), 0u);
  refill_at[3] = now - MiB;      // quiet for exactly a span
  refill_at[40] = now - MiB + 1; // not quite
  refill_at[63] = 0;             // never refilled since the start
  EXPECT_EQ(quiet_classes(refill_at, 64, now, MiB), (uint64_t{1} << 3) | (uint64_t{1} << 63));
  EXPECT_EQ(quiet_classes(refill_at, 40, now, MiB), uint64_t{1} << 3) << "only the classes asked about";
}

TEST(Budget, AutoLimitLeavesAMargin) {
  EXPECT_EQ(auto_limit_bytes(0), 0u) << "no cgroup limit: no hard limit";
  EXPECT_EQ(auto_limit_bytes(64 * MiB), 64 * MiB - 4 * MiB - 2 * MiB);
  EXPECT_EQ(auto_limit_bytes(size_t{1} << 30), (size_t{1} << 30) - 64 * MiB - 2 * MiB);
  EXPECT_EQ(auto_limit_bytes(2 * MiB), 0u) << "too small to leave anything";
}

}  // namespace
