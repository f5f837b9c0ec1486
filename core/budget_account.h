// The committed-bytes account (LEAN's budget and hard limit act on it).
//
// Every page hakmem may have made resident is counted where it is
// committed: a slab page when an object on it is first carved or a released
// page is reused (SlabMeta::resident_pages), a large block when it is
// mapped, the header of a SuperSlab mapped on its own. It leaves the account
// where it is given back for good: MADV_DONTNEED, unmap. Pages released with
// MADV_FREE stay counted: they stay in RSS until the kernel wants them. So
// the budget knows where it stands without a syscall.
//
// The policy is decommit/budget.h; core/small/make_room.cc applies it before
// each commit.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "decommit/budget.h"

namespace hakmem::budget {

// Bits of a class set; size_classes.h checks that every class has one.
inline constexpr unsigned kMaxClasses = 64;

struct Account {
  std::atomic<size_t> committed{0};          // bytes counted now
  std::atomic<uint64_t> small_total{0};      // slab bytes ever committed: the clock of "quiet"
  std::atomic<uint64_t> limit_failures{0};   // commits the hard limit refused
  std::atomic<uint64_t> forced_releases{0};  // releases of everything idle
  std::atomic<uint64_t> quiet_releases{0};   // releases of quiet classes
  // Per class: small_total at its last use (note_use) in any heap. A class
  // no heap used while quiet_span_bytes were committed is quiet everywhere.
  std::atomic<uint64_t> class_refill_at[kMaxClasses] = {};
};
extern Account g_account;
extern decommit::BudgetConfig g_config;  // set once at start-up (core/init.cc)

inline void note_commit(size_t bytes) { g_account.committed.fetch_add(bytes, std::memory_order_relaxed); }
inline void note_release(size_t bytes) { g_account.committed.fetch_sub(bytes, std::memory_order_relaxed); }
inline size_t committed() { return g_account.committed.load(std::memory_order_relaxed); }

// Adds bytes to the account if the hard limit allows them (decommit/budget.h
// commit_allowed): the check and the commit in one step, so that threads
// committing at once cannot pass the limit together.
inline bool reserve(size_t bytes) {
  size_t c = committed();
  do {
    if (!decommit::commit_allowed(g_config, c, bytes)) return false;
  } while (!g_account.committed.compare_exchange_weak(c, c + bytes, std::memory_order_relaxed));
  return true;
}

// Slab pages: reserved bytes were counted before the commit (reserve), added
// is what was new once it was made; the difference is settled and added
// enters the quiet clock.
inline void settle_small(size_t reserved, size_t added) {
  if (added > reserved) note_commit(added - reserved);
  else if (added < reserved) note_release(reserved - added);
  g_account.small_total.fetch_add(added, std::memory_order_relaxed);
}

// Class c was used in a heap (its refill_at is heap_at, its own commits so
// far heap_total): a refill from its slabs or a flush of its full bin
// (owner's slow paths). The shared entry is stored only when the clock
// moved: a program that commits nothing new writes nothing shared.
inline void note_use(unsigned c, uint64_t* heap_at, uint64_t heap_total) {
  heap_at[c] = heap_total;
  const uint64_t t = g_account.small_total.load(std::memory_order_relaxed);
  if (g_account.class_refill_at[c].load(std::memory_order_relaxed) != t)
    g_account.class_refill_at[c].store(t, std::memory_order_relaxed);
}

// Whether anything needs checking before a commit.
inline bool active() { return g_config.target_bytes || g_config.limit_bytes || g_config.quiet_span_bytes; }

}  // namespace hakmem::budget
