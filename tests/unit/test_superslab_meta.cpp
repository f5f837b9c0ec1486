// A SuperSlab's slab metadata is written when each slab is first taken
// (superslab_take_fresh), not when the SuperSlab is made: FAST prewarms a
// SuperSlab for every class at start, and the classes a program never uses
// must not cost a page of metadata each. Runs in FAST (registered with
// HAKMEM_MEM_LEAN=0) on the arena.
#include <gtest/gtest.h>
#include <hakmem.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "core/runtime.h"
#include "core/small/arena.h"
#include "core/small/class_pool.h"
#include "core/small/superslab.h"

using namespace hakmem;

namespace {

constexpr uintptr_t kPage = 4096;

// Resident pages among the whole pages of [begin, end).
size_t resident_pages(uintptr_t begin, uintptr_t end) {
  begin = (begin + kPage - 1) & ~(kPage - 1);
  end &= ~(kPage - 1);
  if (end <= begin) return 0;
  std::vector<unsigned char> v((end - begin) / kPage);
  if (mincore(reinterpret_cast<void*>(begin), end - begin, v.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

void start_up() {
  void* p = hk_malloc(16);
  ASSERT_NE(p, nullptr);
  hk_free(p);
  ASSERT_NE(g_rt.arena_size, 0u) << "no arena: these tests look at the arena's metadata table";
  ASSERT_TRUE(g_rt.preset->prewarm) << "registered for FAST, which prewarms";
}

TEST(SlabMetadata, PrewarmedClassesNeverUsedLeaveItUnwritten) {
  start_up();
  unsigned unused = 0;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    SuperSlab* ss = g_pools[c].superslabs.first;
    ASSERT_NE(ss, nullptr) << "class " << c << " was not prewarmed";
    if (ss->fresh_next != 0 || ss->next) continue;  // used by start-up or the test runner
    ++unused;
    const auto meta = reinterpret_cast<uintptr_t>(ss->slabs);
    EXPECT_EQ(resident_pages(meta, meta + ss->slab_count * sizeof(SlabMeta)), 0u)
        << "class " << c << " (" << ss->obj_size << " B): its slabs' metadata was written before any slab was taken";
  }
  EXPECT_GE(unused, kNumClasses / 2) << "most classes are unused by a process that allocated 16 bytes";
}

TEST(SlabMetadata, ATakenSlabIsFilledInAndItsObjectsFree) {
  start_up();
  // A class nothing used yet: its first malloc takes the first slab.
  unsigned c = kNumClasses - 1;
  SuperSlab* ss = g_pools[c].superslabs.first;
  ASSERT_NE(ss, nullptr);
  ASSERT_EQ(ss->fresh_next, 0u) << "the largest class was used already";
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(hk_malloc(ss->obj_size));
  ASSERT_GE(ss->fresh_next, 1u);
  for (void* b : blocks) {
    ASSERT_NE(b, nullptr);
    const SlabMeta* s = arena::slab_meta_at(reinterpret_cast<uintptr_t>(b));
    EXPECT_EQ(s->obj_size, ss->obj_size);
    EXPECT_EQ(s->class_idx, c);
    EXPECT_EQ(s->obj_addr, ss->base + (size_t{s->index} << kSlabShift));
    EXPECT_EQ(s->capacity, kSlabSize / ss->obj_size);
    EXPECT_GT(s->carved, 0u);
    EXPECT_EQ(s->guard, g_rt.guard_key ^ reinterpret_cast<uintptr_t>(s));
    hk_free(b);
  }
}

// A SuperSlab unmapped and its arena slot taken again for another class:
// the slabs the first one used are zero again, then filled in for the new
// class, with nothing left of the old (counts, lists, pages).
TEST(SlabMetadata, ASlotTakenAgainStartsFromZero) {
  start_up();
  SuperSlab* first = superslab_new(3);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(arena::contains(first->base));
  const uintptr_t slot = first->base;
  for (int i = 0; i < 3; ++i) {
    SlabMeta* s = superslab_take_fresh(first);
    ASSERT_NE(s, nullptr);
    s->carved = 7;
    s->used = 5;
    s->released_pages = 0;
    s->idle_since_ms = 1234;
    s->local_free = reinterpret_cast<FreeNode*>(s->obj_addr);
  }
  superslab_unmap(first);
  SuperSlab* second = superslab_new(9);
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(second->base, slot) << "the arena hands out the slot given back last";
  EXPECT_EQ(second->fresh_next, 0u);
  for (uint32_t i = 0; i < second->slab_count; ++i) {
    SlabMeta* s = superslab_take_fresh(second);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->class_idx, 9u);
    EXPECT_EQ(s->obj_size, second->obj_size);
    EXPECT_EQ(s->carved, 0u) << "slab " << i;
    EXPECT_EQ(s->used, 0u) << "slab " << i;
    EXPECT_EQ(s->local_free, nullptr) << "slab " << i;
    EXPECT_EQ(s->idle_since_ms, 0u) << "slab " << i;
    EXPECT_EQ(s->remote_words.load(), 0u) << "slab " << i;
  }
  EXPECT_EQ(superslab_take_fresh(second), nullptr) << "every slab was taken";
  superslab_unmap(second);
}

}  // namespace

// Slots committed ahead (FAST's prewarm commits one per class with one call:
// a call each was most of what a process paid for hakmem before its first
// allocation) are handed out committed, side by side, with no call each.
TEST(Arena, SlotsCommittedAheadAreHandedOutWithoutACallEach) {
  start_up();
  constexpr int kSlots = 4;
  const uint64_t before = os::g_counters.mmap_calls.load();
  arena::commit_ahead(kSlots);
  const uint64_t committed = os::g_counters.mmap_calls.load();
  EXPECT_EQ(committed, before + 1) << "the slots were not committed with one call";
  void* slot[kSlots];
  for (int i = 0; i < kSlots; ++i) {
    slot[i] = arena::take();
    ASSERT_NE(slot[i], nullptr);
    if (i) EXPECT_EQ(static_cast<char*>(slot[i]), static_cast<char*>(slot[i - 1]) + g_rt.ss_size) << "slot " << i;
    // Writable and zero, first and last byte.
    auto* b = static_cast<volatile unsigned char*>(slot[i]);
    EXPECT_EQ(b[0], 0);
    EXPECT_EQ(b[g_rt.ss_size - 1], 0);
    b[0] = 1;
    b[g_rt.ss_size - 1] = 1;
  }
  EXPECT_EQ(os::g_counters.mmap_calls.load(), committed) << "a slot committed ahead was committed again";
  for (void* s : slot) arena::give(s);
  // Given back, a slot is committed again when taken (it was reserved again).
  void* again = arena::take();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(static_cast<volatile unsigned char*>(again)[0], 0) << "a slot given back kept its contents";
  arena::give(again);
}
