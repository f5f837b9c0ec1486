// SuperSlabs: aligned regions of g_rt.ss_size bytes serving one size class,
// cut into 64 KiB slabs (core/small/slab.h). A pointer finds its slab by
// shifting: no per-object header. Header and slab metadata are out of line
// from the objects: for a SuperSlab cut from the arena, in the arena's
// tables, so all of its memory holds objects; for one mapped on its own, in
// its first page(s).
//
//   superslab_new     arena::take, else os::map_aligned + registry::set_superslab
//   superslab_unmap   arena::give, else registry + os::unreserve
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/small/slab.h"

namespace hakmem {

struct SuperSlab {
  uintptr_t base;          // address of its memory (the header itself may be elsewhere)
  uint32_t class_idx;
  uint32_t obj_size;
  uint64_t index_multiplier;  // ceil(2^48 / obj_size): offset -> index without dividing
  uint32_t slab_count;
  uint32_t fresh_next;     // slabs slab_by_take_order(fresh_next) .. slab_by_take_order(slab_count - 1) were never used
  uint32_t first_slab;     // where the order of taking fresh slabs starts (see slab_by_take_order)
  uint32_t active;         // slabs owned by heaps or orphaned (not empty, not fresh)
  uint32_t header_bytes;   // bytes of its memory taken by the header (page aligned; 0 in the arena)
  SuperSlab* prev;
  SuperSlab* next;
  // slab_count entries: in the arena's metadata table for a SuperSlab cut
  // from the arena (so free() finds them from the arena offset alone), else
  // right after this header.
  SlabMeta* slabs;
  // slab_count x kRemoteWords words: the slabs' remote bitmaps (in the
  // arena's table, or after the slab metadata).
  std::atomic<uint64_t>* remote_bits;

  SlabMeta* slab_at(uintptr_t a) { return &slabs[(a - base) >> kSlabShift]; }
  // The i-th slab in the order fresh slabs are taken: from first_slab on,
  // wrapping. SuperSlabs are aligned to their size, so the metadata of
  // their first slabs would otherwise sit at one offset modulo 4 KiB and
  // compete for one set of the L1 cache; starting each at another slab
  // spreads the hot metadata of every class over the cache.
  SlabMeta* slab_by_take_order(uint32_t i) { return &slabs[(first_slab + i) & (slab_count - 1)]; }
  char* slab_base(const SlabMeta* s) { return reinterpret_cast<char*>(base) + (size_t{s->index} << kSlabShift); }
  static char* obj_begin(const SlabMeta* s) { return reinterpret_cast<char*>(s->obj_addr); }
};

inline constexpr size_t kInlineSlabsOffset = (sizeof(SuperSlab) + 63) & ~size_t{63};

// Size of the inline header of a SuperSlab mapped on its own, slab metadata
// and remote bitmaps included, rounded to pages.
constexpr size_t superslab_header_bytes(size_t slab_count) {
  return (kInlineSlabsOffset + slab_count * (sizeof(SlabMeta) + kRemoteWords * sizeof(uint64_t)) + 4095) & ~size_t{4095};
}


// The SuperSlab holding slab s.
SuperSlab* superslab_of_slab(const SlabMeta* s);
// A new SuperSlab of class c; nullptr when no memory can be had. Its slabs'
// metadata is filled in as each is first taken (superslab_take_fresh).
SuperSlab* superslab_new(unsigned c);
// The next slab of ss never used, its metadata filled in now; nullptr when
// every slab has been taken.
SlabMeta* superslab_take_fresh(SuperSlab* ss);
// Gives a SuperSlab none of whose slabs is in use back.
void superslab_unmap(SuperSlab* ss);
// SuperSlabs mapped now, for statistics.
size_t superslabs_mapped();

}  // namespace hakmem
