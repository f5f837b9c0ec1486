// From a pointer to its slab: the arena's table for the arena, the registry
// and the SuperSlab's inline header for a SuperSlab mapped on its own.
#pragma once
#include <cstdint>

#include "core/runtime.h"
#include "core/small/arena.h"
#include "core/small/registry.h"
#include "core/small/superslab.h"

namespace hakmem {

// The metadata of the slab holding p, or nullptr if p is not in a SuperSlab.
[[gnu::always_inline]] inline SlabMeta* find_slab(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (arena::contains(a)) return arena::slab_meta_at(a);
  uintptr_t base = a & g_rt.ss_mask;
  return registry::is_superslab(base) ? reinterpret_cast<SuperSlab*>(base)->slab_at(a) : nullptr;
}

// The remote bitmap of slab s (core/small/slab.h): kRemoteWords words, bit
// i for the object of index i.
[[gnu::always_inline]] inline std::atomic<uint64_t>* remote_bits_of(const SlabMeta* s) {
  const uintptr_t a = s->obj_addr;
  if (arena::contains(a)) return arena::remote_bits_at(a);
  return reinterpret_cast<SuperSlab*>(a & g_rt.ss_mask)->remote_bits + size_t{s->index} * kRemoteWords;
}

}  // namespace hakmem
