// Process-wide allocator state, set once at start-up (runtime::ensure_init)
// and read-only afterwards.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "decommit/policy.h"
#include "modes/options.h"
#include "modes/presets.h"

namespace hakmem {

struct SlabMeta;

struct alignas(64) Runtime {
  // What malloc() and free() read, together in the first cache line.
  uintptr_t arena_base = 0;         // the SuperSlab arena (core/arena.h); size 0 when there is none
  size_t arena_size = 0;
  SlabMeta* arena_meta = nullptr;   // slab metadata of the arena, one entry per 64 KiB
  uintptr_t guard_key = 0;
  uintptr_t ss_mask = ~((uintptr_t{2} << 20) - 1);
  bool releases = false;            // decommit.mode != Off: free() keeps the heap's tick
  std::atomic<int> state{0};  // 0 not started, 2 ready
  // The rest.
  Options opt;
  const ModePreset* preset = &kFastPreset;
  size_t ss_size = size_t{2} << 20;
  DecommitConfig decommit;
  size_t target_bytes = 0;          // RSS budget: HAKMEM_MEM_LEAN_TARGET_MB, else 3/4 of the cgroup limit (LEAN)
};

extern Runtime g_rt;

namespace runtime {
void init_slow();
[[gnu::always_inline]] inline void ensure_init() {
  if (__builtin_expect(g_rt.state.load(std::memory_order_acquire) != 2, 0)) init_slow();
}
}  // namespace runtime

}  // namespace hakmem
