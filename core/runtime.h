// Process-wide allocator state, set once at start-up (runtime::init_slow in
// core/init.cc) and read-only afterwards.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "decommit/policy.h"
#include "modes/options.h"
#include "modes/presets.h"

// Hidden: g_rt is defined in another translation unit than the fast paths
// that read it; without this a PIC build loads its address from the GOT on
// every malloc and free.
#define HK_HIDDEN __attribute__((visibility("hidden")))

namespace hakmem {

struct SlabMeta;

enum class InitState : int { NotStarted, Ready };

struct alignas(64) Runtime {
  // What malloc() and free() read, together in the first cache line.
  uintptr_t arena_base = 0;         // the SuperSlab arena (core/small/arena.h); size 0 when there is none
  size_t arena_size = 0;
  SlabMeta* arena_meta = nullptr;   // slab metadata of the arena, one entry per 64 KiB
  // Keys of the free-list link encoding (core/small/free_link.h): random,
  // and link_mul odd with link_mul_inv its inverse mod 2^64.
  uintptr_t link_key = 0;
  uint64_t link_mul = 1;
  uint64_t link_mul_inv = 1;
  uintptr_t ss_mask = ~((uintptr_t{2} << 20) - 1);
  bool releases = false;            // decommit.mode != Off: LEAN releases memory, free() keeps the heap's tick
  // LEAN keeps transparent huge pages out of its mappings (a huge page makes
  // 2 MiB resident for one byte written); only needed when the kernel gives
  // them unasked (os::huge_pages_unasked): a madvise per mapping otherwise.
  bool refuse_huge_pages = false;
  std::atomic<InitState> init_state{InitState::NotStarted};
  // The rest.
  // The arena's remote bitmaps (core/small/slab.h), kRemoteWords per 64 KiB
  // slab, beside arena_meta.
  std::atomic<uint64_t>* arena_remote_bits = nullptr;
  uintptr_t guard_key = 0;          // SlabMeta::guard is this ^ the metadata's address
  intptr_t cache_bins_tls_offset = 0;  // tl_cache.bins - the thread pointer: the same in every thread
  Options opt;
  const ModePreset* preset = &kFastPreset;
  size_t ss_size = size_t{2} << 20;
  decommit::DecommitConfig decommit;
  size_t target_bytes = 0;          // RSS budget: HAKMEM_MEM_LEAN_TARGET_MB, else 3/4 of the cgroup limit (LEAN)
};

HK_HIDDEN extern Runtime g_rt;
static_assert(offsetof(Runtime, init_state) + sizeof(int) <= 64,
              "what malloc() and free() read fits in one cache line");

namespace runtime {
// Defined in core/init.cc (the api level): reads the options, makes the
// keys and the arena, registers the fork handlers, prewarms (FAST).
void init_slow();
[[gnu::always_inline]] inline void ensure_init() {
  if (__builtin_expect(g_rt.init_state.load(std::memory_order_acquire) != InitState::Ready, 0)) init_slow();
}
}  // namespace runtime

}  // namespace hakmem
