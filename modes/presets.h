// The FAST and LEAN presets: the values that differ between the modes.
// Runtime switches live here, below the fast path; the malloc/free fast path
// is the same code in both modes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem {

struct ModePreset {
  const char* name;
  const char* ss_size;          // default HAKMEM_SS_SIZE
  const char* decommit;         // default HAKMEM_MEM_LEAN_DECOMMIT
  const char* delay_ms;         // default HAKMEM_DECOMMIT_DELAY_MS
  const char* decommit_thread;  // default HAKMEM_DECOMMIT_THREAD
  bool prewarm;                 // one SuperSlab per class mapped at start
  uint32_t tcache_bytes;        // per-class thread cache budget
  uint32_t tcache_min;          // ... but at least this many objects
  uint32_t tcache_max;          // ... and at most this many
  uint32_t tcache_grow;         // a bin cycling more objects than it holds grows up to this many times
                                // its bytes (at most tcache_max objects); 1: never grows
  uint32_t large_cache_entries; // freed large mappings kept for reuse
  size_t large_cache_bytes;
  uint32_t large_cache_live_shift; // budget at least live large bytes >> this (0: the fixed budget only)
  size_t large_cache_lazy_bytes; // freed large mappings beyond the budget kept lazily released until the delay (0: none)
  size_t large_cache_min_tail;  // what is left of a cached mapping cut for a smaller block stays cached from this size
  uint32_t superslabs_kept;     // wholly empty SuperSlabs kept mapped per class
  size_t idle_cap_bytes;        // empty slabs kept committed at most, across classes (0: no cap)
};

// One field per preset value: a new option's per-mode default is one field
// here plus one row in modes/options.cc.
inline constexpr ModePreset kFastPreset{
    .name = "FAST",
    .ss_size = "2M",
    .decommit = "OFF",
    .delay_ms = "1000",
    .decommit_thread = "0",  // FAST never releases: nothing for a thread to do
    .prewarm = true,
    .tcache_bytes = 64 * 1024,
    .tcache_min = 16,
    .tcache_max = 1024,
    // simple-loop's 1 KiB × 100 blocks moved every block to its slab and
    // back (65 instructions per operation, tcmalloc 44): its bin now grows.
    .tcache_grow = 8,
    .large_cache_entries = 4096,
    .large_cache_bytes = size_t{128} << 20,
    .large_cache_live_shift = 0,
    .large_cache_lazy_bytes = 0,
    // Every tail: it joins its block again when that is freed. thread-stress
    // (64 KiB - 1 MiB at random) faulted 8,400 pages with tails below 64 KiB
    // unmapped, 5,400 with them kept (tcmalloc 4,700).
    .large_cache_min_tail = 4096,
    .superslabs_kept = UINT32_MAX,
    .idle_cap_bytes = 0,
};
inline constexpr ModePreset kLeanPreset{
    .name = "LEAN",
    .ss_size = "256K",
    .decommit = "FREE",
    .delay_ms = "200",
    // An idle process makes no calls: only a thread of hakmem's own can give
    // back what it freed (redis after FLUSHALL keeps 100 MB without it, 19
    // with it; README, below the options table).
    .decommit_thread = "1",
    .prewarm = false,
    .tcache_bytes = 64 * 1024,
    .tcache_min = 16,
    .tcache_max = 1024,
    // A bin that cycles more than it holds grows (simple-loop's 256 B x
    // 400 blocks: 1.5 times as fast, as FAST; bursts-2t 0.61 -> 0.73-0.88 of
    // FAST; 1 KiB x 400 would need 8 times). An idle
    // bin goes back to its slabs and restarts at 64 KiB (heap_return_bin),
    // and the budget's make_room empties bins too, but a thread that makes
    // no call at all keeps what its bins hold: 4 times, not FAST's 8 (8
    // threads idle after cycling 400 x 1 KiB: RSS - LazyFree 3.6 MB, with 8
    // times 5.7, without growth 2.8, glibc 2.8).
    .tcache_grow = 4,
    // Up to 8 MiB (or a quarter of the live large bytes) committed, and
    // beyond that up to 64 MiB freed within the delay, lazily released
    // (within the high-water of live large bytes, core/large/large.cc): a
    // program that frees a phase of 600 × 64 KiB blocks and allocates them
    // again in its next cycle took 7,500 page faults a cycle without it.
    .large_cache_entries = 1024,
    .large_cache_bytes = size_t{8} << 20,
    .large_cache_live_shift = 2,
    .large_cache_lazy_bytes = size_t{64} << 20,
    // Small tails crowd the 8 MiB budget out (a batch of 2,000 40-48 KiB
    // blocks freed and allocated again: 75,000 faults kept, 59,000 not).
    .large_cache_min_tail = size_t{64} << 10,
    .superslabs_kept = 1,
    .idle_cap_bytes = size_t{2} << 20,
};

#ifdef HAKMEM_DEFAULT_LEAN
inline constexpr bool kDefaultLean = true;
#else
inline constexpr bool kDefaultLean = false;
#endif

}  // namespace hakmem
