// Which addresses are hakmem SuperSlabs: a two-level radix map with one byte
// per 64 KiB of address space, so free() tells its own pointers from foreign
// ones in two loads and without a per-object header. Leaves (64 KiB, one per
// 4 GiB of address space) are mapped on first use.
#pragma once
#include <atomic>
#include <cstdint>

namespace hakmem::registry {

inline constexpr unsigned kChunkShift = 16;
inline constexpr unsigned kLeafBits = 16;
inline constexpr unsigned kTopBits = 16;  // 16 + 16 + 16 = 48-bit addresses

using Leaf = std::atomic<uint8_t>[1u << kLeafBits];
extern std::atomic<Leaf*> g_top[1u << kTopBits];

[[gnu::always_inline]] inline bool is_superslab(uintptr_t base) {
  uintptr_t chunk = base >> kChunkShift;
  if (chunk >> (kLeafBits + kTopBits)) return false;
  Leaf* leaf = g_top[chunk >> kLeafBits].load(std::memory_order_acquire);
  return leaf && (*leaf)[chunk & ((1u << kLeafBits) - 1)].load(std::memory_order_relaxed);
}

// Mark or clear a SuperSlab base. Returns false if a leaf could not be mapped.
bool set_superslab(uintptr_t base, bool on);

}  // namespace hakmem::registry
