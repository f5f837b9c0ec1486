// The memory budget policy: what to do before committing new memory.
//
// Pure code, like decommit/policy.h: the committed-bytes account, the
// request and the limits are arguments, so tests drive it without memory.
// The account is core/budget_account.h; the mechanism (core/small/make_room.cc)
// releases idle memory the way this decides.
//
// Two thresholds:
//   target  HAKMEM_MEM_LEAN_TARGET_MB: above it, idle memory goes with
//           DONTNEED before new memory is committed (a soft budget: when
//           nothing idle is left, the memory is committed anyway).
//   limit   HAKMEM_MEM_LEAN_LIMIT_MB: a request that would take the account
//           past it even after every idle page is released fails (ENOMEM).
// And one trigger that needs no setting (LEAN): the free pages of classes
// that have gone quiet are released before more slab memory is committed,
// so a program moving from one set of sizes to another gives back the old
// sizes' pages before it adds to its peak, not a delay later.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem::decommit {

struct BudgetConfig {
  size_t target_bytes = 0;       // 0: none
  size_t limit_bytes = 0;        // 0: none
  uint64_t quiet_span_bytes = 0; // see quiet_classes; 0: no quiet release
};

// What the last releases left: the hysteresis that keeps a program at its
// budget with nothing idle from paying a walk over every heap per page.
struct BudgetState {
  size_t released_at = 0;        // the account after the last ReleaseAll
  uint64_t quiet_checked_at = 0; // slab bytes ever committed at the last ReleaseQuiet
};

// What to release before committing more.
enum class RoomAction : uint8_t {
  None,          // commit
  ReleaseQuiet,  // free pages of quiet classes (nothing a busy class would refault)
  ReleaseAll,    // every idle page, thread cache and cached large block, with DONTNEED
};

// A forced release walks every heap and pool. When it left the account over
// the target, the next one waits until the account has grown by this much.
constexpr size_t release_retry_bytes(const BudgetConfig& cfg) {
  size_t t = cfg.target_bytes ? cfg.target_bytes : cfg.limit_bytes;
  size_t step = t / 64;
  return step < (size_t{256} << 10) ? size_t{256} << 10 : step;
}

// Before committing request bytes with `committed` bytes counted.
// small: slab pages (the quiet release applies to those only: a large block
// is mapped fresh and unmapped when freed, so its commit says nothing about
// a program moving between sizes, and releasing small classes for it turned
// the next cycle of compare/'s phases into page faults). small_total: slab
// bytes ever committed.
constexpr RoomAction room_action(const BudgetConfig& cfg, const BudgetState& st, size_t committed, size_t request,
                                 bool small, uint64_t small_total) {
  const size_t after = committed + request;
  if (cfg.limit_bytes && after > cfg.limit_bytes) return RoomAction::ReleaseAll;
  if (cfg.target_bytes && after > cfg.target_bytes && committed >= st.released_at + release_retry_bytes(cfg))
    return RoomAction::ReleaseAll;
  if (small && cfg.quiet_span_bytes && small_total >= st.quiet_checked_at + cfg.quiet_span_bytes)
    return RoomAction::ReleaseQuiet;
  return RoomAction::None;
}

// After the release room_action asked for: may the request be committed?
// Only the hard limit refuses; the target is a budget to aim at, and with
// nothing idle left the memory is committed anyway.
constexpr bool commit_allowed(const BudgetConfig& cfg, size_t committed, size_t request) {
  return cfg.limit_bytes == 0 || committed + request <= cfg.limit_bytes;
}

// The quiet classes: bit c set when class c has not been used (refilled
// from its slabs, or flushed its full bin) while span bytes of slab memory
// were committed (used_at[c]: the slab bytes ever committed at its last
// use). A program that moved on to other sizes leaves its old classes' free
// pages behind; a class in use refills or flushes as others commit and is
// never in the mask, so its pages are not released only to be faulted in
// again.
constexpr uint64_t quiet_classes(const uint64_t* used_at, unsigned n, uint64_t small_total, uint64_t span) {
  uint64_t mask = 0;
  for (unsigned c = 0; c < n && c < 64; ++c)
    if (small_total - used_at[c] >= span) mask |= uint64_t{1} << c;
  return mask;
}

// HAKMEM_MEM_LEAN_LIMIT_MB=auto: the cgroup memory limit less a sixteenth
// and 2 MiB (the program's own memory, page tables and the kernel's share
// are charged to the group too); 0 (no limit) without a cgroup limit or
// when the limit is too small to leave anything.
constexpr size_t auto_limit_bytes(size_t cgroup_limit) {
  const size_t margin = cgroup_limit / 16 + (size_t{2} << 20);
  return cgroup_limit > margin ? cgroup_limit - margin : 0;
}

}  // namespace hakmem::decommit
