// Making and unmaking SuperSlabs: from the arena when it has a slot, else a
// mapping of their own found through the registry.
#include "core/small/superslab.h"

#include <cstring>

#include "core/budget_account.h"
#include "core/platform/memory.h"
#include "core/small/arena.h"
#include "core/small/registry.h"
#include "core/small/size_classes.h"
#include "core/small/thread_heap.h"

namespace hakmem {

namespace {
std::atomic<size_t> g_mapped{0};
std::atomic<uint32_t> g_made{0};  // SuperSlabs made so far: staggers SuperSlab::first_slab
}  // namespace

SuperSlab* superslab_of_slab(const SlabMeta* s) {
  if (arena::contains(s->obj_addr)) return arena::header_of(s->obj_addr);
  return reinterpret_cast<SuperSlab*>(s->obj_addr & g_rt.ss_mask);
}

SlabMeta* superslab_take_fresh(SuperSlab* ss) {
  // A slab's metadata is written when the slab is first taken, not when its
  // SuperSlab is made: until then it reads as zero (nothing carved, so a
  // free() into it is an invalid pointer), and FAST's prewarmed SuperSlabs
  // of classes a program never uses keep their metadata pages untouched
  // (4 KiB each of 2 MiB: 176 KiB of RSS for the 44 classes).
  while (ss->fresh_next < ss->slab_count) {
    SlabMeta* s = ss->slab_by_take_order(ss->fresh_next++);
    const auto index = static_cast<uint16_t>(s - ss->slabs);
    const size_t begin = size_t{index} << kSlabShift;
    const size_t start = begin < ss->header_bytes ? ss->header_bytes : begin;
    if (start >= begin + kSlabSize) continue;  // wholly inside the header
    s->index = index;
    s->index_multiplier = ss->index_multiplier;
    s->size_shift = static_cast<uint8_t>(__builtin_ctz(ss->obj_size));
    s->size_inverse = odd_inverse(ss->obj_size >> s->size_shift);
    s->obj_size = ss->obj_size;
    s->class_idx = static_cast<uint16_t>(ss->class_idx);
    s->cache_bin_offset = static_cast<int32_t>(g_rt.cache_bins_tls_offset + bin_offset(ss->class_idx));
    s->guard = g_rt.guard_key ^ reinterpret_cast<uintptr_t>(s);
    s->obj_addr = ss->base + start;
    s->capacity = static_cast<uint32_t>((begin + kSlabSize - start) / ss->obj_size);
    // The other fields are zero: fresh memory, or zeroed by superslab_unmap.
    return s;
  }
  return nullptr;
}

SuperSlab* superslab_new(unsigned c) {
  size_t size = g_rt.ss_size;
  void* mem = arena::take();
  bool own_mapping = !mem;
  if (own_mapping) mem = os::map_aligned(size, size);
  if (!mem) return nullptr;
  if (g_rt.refuse_huge_pages) os::no_huge_pages(mem, size);
  const uintptr_t base = reinterpret_cast<uintptr_t>(mem);
  size_t slabs = size >> kSlabShift;
  // In the arena the header and slab metadata live in the arena's tables and
  // every byte of the slot holds objects; a SuperSlab mapped on its own
  // carries them in its first page(s).
  SuperSlab* ss = own_mapping ? static_cast<SuperSlab*>(mem) : arena::header_of(base);
  size_t header = own_mapping ? superslab_header_bytes(slabs) : 0;
  ss->base = base;
  ss->slabs = own_mapping ? reinterpret_cast<SlabMeta*>(base + kInlineSlabsOffset) : arena::slab_meta_at(base);
  ss->remote_bits = own_mapping ? reinterpret_cast<std::atomic<uint64_t>*>(ss->slabs + slabs) : arena::remote_bits_at(base);
  ss->class_idx = c;
  ss->obj_size = class_size(c);
  ss->index_multiplier = ((uint64_t{1} << 48) + ss->obj_size - 1) / ss->obj_size;
  ss->slab_count = static_cast<uint32_t>(slabs);
  ss->header_bytes = static_cast<uint32_t>(header);
  ss->fresh_next = 0;
  ss->first_slab = static_cast<uint32_t>(g_made.fetch_add(1, std::memory_order_relaxed)) & (ss->slab_count - 1);
  if (own_mapping && !registry::set_superslab(base, true)) {
    os::unreserve(mem, size);
    return nullptr;
  }
  g_mapped.fetch_add(1, std::memory_order_relaxed);
  budget::note_commit(header);  // the header of one mapped on its own is written now
  return ss;
}

void superslab_unmap(SuperSlab* ss) {
  const uintptr_t base = ss->base;
  // Its slabs' pages (empty slabs: committed or lazily released) and header go.
  for (uint32_t i = 0; i < ss->fresh_next; ++i) slab_drop_resident(ss->slab_by_take_order(i), ~uint32_t{0});
  budget::note_release(ss->header_bytes);
  g_mapped.fetch_sub(1, std::memory_order_relaxed);
  if (arena::contains(base)) {
    // The slot's next SuperSlab fills in each slab's metadata over zeros, and
    // a free() of a stale pointer into the slot must find nothing carved:
    // the slabs taken are zeroed (the others never were written).
    for (uint32_t i = 0; i < ss->fresh_next; ++i) std::memset(static_cast<void*>(ss->slab_by_take_order(i)), 0, sizeof(SlabMeta));
    return arena::give(reinterpret_cast<void*>(base));
  }
  registry::set_superslab(base, false);
  os::unreserve(ss, g_rt.ss_size);
}

size_t superslabs_mapped() { return g_mapped.load(std::memory_order_relaxed); }

}  // namespace hakmem
