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
  bool prewarm;                 // one SuperSlab per class mapped at start
  uint32_t tcache_bytes;        // per-class thread cache budget
  uint32_t tcache_min;          // ... but at least this many objects
  uint32_t tcache_max;          // ... and at most this many
  uint32_t empty_slabs_kept;    // empty slabs a thread keeps per class besides its current one
  uint32_t large_cache_entries; // freed large mappings kept for reuse
  size_t large_cache_bytes;
  uint32_t superslabs_kept;     // wholly empty SuperSlabs kept mapped per class
  size_t idle_cap_bytes;        // empty slabs kept committed at most, across classes (0: no cap)
};

inline constexpr ModePreset kFastPreset{"FAST", "2M", "OFF", "1000", true,
                                        64 * 1024, 16, 1024, 2, 4096, size_t{128} << 20, UINT32_MAX, 0};
inline constexpr ModePreset kLeanPreset{"LEAN", "256K", "FREE", "200", false,
                                        64 * 1024, 16, 1024, 0, 16, size_t{8} << 20, 1, size_t{2} << 20};

#ifdef HAKMEM_DEFAULT_LEAN
inline constexpr bool kDefaultLean = true;
#else
inline constexpr bool kDefaultLean = false;
#endif

}  // namespace hakmem
