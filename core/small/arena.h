// The SuperSlab arena: one reservation of address space, made at start-up,
// from which SuperSlabs are cut. free() then tells a small object from
// everything else with one subtraction and one compare, where the radix
// registry needs four dependent steps.
//
// Slots not in use are reserved read-only and read as zeros, so free() of a
// pointer into one finds zeroed slab metadata (nothing carved) and reports
// an invalid pointer instead of faulting. When the reservation is full or
// could not be made (a small RLIMIT_AS), SuperSlabs are mapped on their own
// and found through the registry, as before: slower, equally correct.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/runtime.h"
#include "core/small/superslab.h"

namespace hakmem::arena {

// Reserves size bytes (rounded down to SuperSlabs) for SuperSlabs of ss_size
// bytes. Sets g_rt.arena_base and g_rt.arena_size; leaves them 0 on failure.
void init(size_t size, size_t ss_size);

// A committed, zeroed SuperSlab-sized slot, or nullptr when there is none:
// one committed ahead (commit_ahead) if any is left, else the one given back
// last, else the next never used.
// Its header (zeroed) is at header_of(slot), its slab metadata (zeroed) at
// slab_meta_at(slot).
void* take();
// Commits the next n slots never handed out with one call, for take() to
// hand out without a call each: FAST's start-up prewarms a SuperSlab per
// class, and a commit call per slot was most of what a process paid for
// hakmem before its first allocation. Does nothing once slots committed
// ahead are left.
void commit_ahead(uint32_t n);
// Gives a slot's memory back (its address range is reserved again) and
// zeroes its header; its slabs' metadata must be zero already.
void give(void* slot);

// The header of the SuperSlab in the slot holding a, which contains(a).
SuperSlab* header_of(uintptr_t a);

[[gnu::always_inline]] inline bool contains(uintptr_t a) { return a - g_rt.arena_base < g_rt.arena_size; }
// The metadata of the slab holding a, which contains(a).
[[gnu::always_inline]] inline SlabMeta* slab_meta_at(uintptr_t a) {
  return g_rt.arena_meta + ((a - g_rt.arena_base) >> kSlabShift);
}

// The remote bitmaps (core/small/slab.h) of the slab holding a, which contains(a).
[[gnu::always_inline]] inline std::atomic<uint64_t>* remote_bits_at(uintptr_t a) {
  return g_rt.arena_remote_bits + ((a - g_rt.arena_base) >> kSlabShift) * kRemoteWords;
}

// Slots handed out now, for statistics.
size_t slots_in_use();

}  // namespace hakmem::arena
