// Start-up: the options (read once from the environment block, never with
// getenv), the per-process keys, the arena, the thread-exit key and the fork
// handlers, then (FAST) one SuperSlab per class. Runs on the first call into
// the allocator (runtime::ensure_init).
#include "core/budget_account.h"
#include "core/fork.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/size_classes.h"
#include "core/small/arena.h"
#include "core/small/class_pool.h"
#include "core/small/slow_paths.h"
#include "core/small/thread_heap.h"
#include "decommit/run.h"

extern char** environ;

namespace hakmem {

Runtime g_rt;

namespace {

uintptr_t make_guard_key() {
  return os::random_u64() | 1;  // never zero: zero marks an allocated object
}

// The keys of the free-list link encoding (core/small/free_link.h).
void make_link_keys() {
  g_rt.link_key = os::random_u64();
  g_rt.link_mul = os::random_u64() | 1;
  g_rt.link_mul_inv = odd_inverse(g_rt.link_mul);
}

void apply_options(const Options& o) {
  g_rt.opt = o;
  g_rt.preset = o.lean ? &kLeanPreset : &kFastPreset;
  g_rt.ss_size = o.ss_size;
  g_rt.ss_mask = ~(uintptr_t{o.ss_size} - 1);
  g_rt.decommit = decommit::DecommitConfig{o.decommit, o.decommit_delay_ms, o.decommit_delay_ms,
                                           g_rt.preset->idle_cap_bytes,
                                           // reuse may stretch the cap to 5 times its size (policy.h over_idle_cap)
                                           g_rt.preset->idle_cap_bytes * 4};
  g_rt.releases = o.decommit != DecommitMode::Off;
  g_rt.refuse_huge_pages = o.lean && os::huge_pages_unasked();
  // Started by the first malloc slow path (decommit/run.h says why there).
  decommit::background_thread_wanted(g_rt.releases && o.decommit_thread);
  g_rt.target_bytes = static_cast<size_t>(o.target_mb) << 20;
  // In a memory-limited container idle memory must go before the limit is
  // reached, not after the delay: unless set, the budget is 3/4 of the limit.
  if (o.lean && o.target_auto) g_rt.target_bytes = os::cgroup_memory_limit() / 4 * 3;
  if (!o.lean) g_rt.target_bytes = 0;  // FAST never releases: a budget it could not act on
  // LEAN: its finer classes between 512 and 1024 bytes (core/small/size_classes.h).
  size_classes_choose(o.lean);
  budget::g_config.target_bytes = g_rt.target_bytes;
  if (o.lean) {
    budget::g_config.limit_bytes =
        o.limit_auto ? decommit::auto_limit_bytes(os::cgroup_memory_limit()) : static_cast<size_t>(o.limit_mb) << 20;
    // Quiet classes give back their free pages once 1 MiB of slab memory
    // was committed without them (decommit/budget.h quiet_classes), unless
    // HAKMEM_MEM_LEAN_TARGET_MB=0 turned off every release before a commit.
    const bool no_budget = !o.target_auto && o.target_mb == 0;
    if (g_rt.releases && !no_budget) budget::g_config.quiet_span_bytes = uint64_t{1} << 20;
  }
}

}  // namespace

namespace runtime {
// The thread running init_slow: allocations it makes while initialising
// (pthread_atfork may allocate) proceed, since g_rt is filled in by then.
__thread bool tl_initializing __attribute__((tls_model("initial-exec")));

void init_slow() {
  if (tl_initializing) return;
  LockGuard g(g_init_lock);
  if (g_rt.init_state.load(std::memory_order_relaxed) == InitState::Ready) return;
  tl_initializing = true;
  apply_options(parse_options(environ, 2, os::secure_execution()));
  g_rt.guard_key = make_guard_key();
  make_link_keys();
  g_rt.cache_bins_tls_offset = reinterpret_cast<intptr_t>(tl_cache.bins) - static_cast<intptr_t>(thread_pointer());
  arena::init(g_rt.opt.arena_size, g_rt.opt.ss_size);
  heap_key_create();
  // Fork handlers go in before any other thread can use the pools, so a
  // fork can never copy a pool lock held by another thread.
  register_fork_handlers();
  if (g_rt.preset->prewarm) superslabs_prewarm();
  tl_initializing = false;
  g_rt.init_state.store(InitState::Ready, std::memory_order_release);
}
}  // namespace runtime

}  // namespace hakmem
