// A thread's heap, made by its first malloc (a recycled one when a thread
// has exited): cache bins sized by the preset, with their slot arrays in
// the heap's mapping, and the thread pointer its slabs will carry.
#include "core/small/slow_paths.h"

#include "core/budget_account.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"
#include "decommit/tick_epoch.h"
#include "decommit/ticker.h"

namespace hakmem {

namespace {
uint32_t tcache_limit(unsigned c) {
  const ModePreset& p = *g_rt.preset;
  uint32_t n = p.tcache_bytes / class_size(c);
  if (n < p.tcache_min) n = p.tcache_min;
  if (n > p.tcache_max) n = p.tcache_max;
  return n ? n : 1;  // a full bin flushes half and pushes one: room for one at least
}

// The most a bin of class c (limit objects to start with) grows to: the
// preset's tcache_grow times its bytes, within tcache_max objects.
uint32_t tcache_capacity(unsigned c, uint32_t limit) {
  const ModePreset& p = *g_rt.preset;
  uint64_t n = uint64_t{p.tcache_bytes} * (p.tcache_grow ? p.tcache_grow : 1) / class_size(c);
  if (n > p.tcache_max) n = p.tcache_max;
  return n > limit ? static_cast<uint32_t>(n) : limit;
}

// Where each class's slot array lies in a heap's mapping, and how long it
// is: the same for every heap (the limits depend on the preset only). Set
// by the first heap_create, under g_heap_lock, before any heap exists.
struct SlotLayout {
  uint32_t limit[kNumClasses];        // a bin's limit when its class is set up
  uint32_t offset[kNumClasses];       // bytes from the heap's start
  uint32_t capacity[kNumClasses];     // the most a bin grows to
  uint32_t grow_offset[kNumClasses];  // where its array of that length lies (if larger than limit)
  size_t map_bytes;              // the ThreadHeap and every array
};
SlotLayout g_slots;

void slot_layout_init() {
  size_t at = (sizeof(ThreadHeap) + 63) & ~size_t{63};
  for (unsigned c = 0; c < kNumClasses; ++c) {
    g_slots.limit[c] = tcache_limit(c);
    g_slots.offset[c] = static_cast<uint32_t>(at);
    // Each array starts a cache line of its own: pushes to one class never
    // share a line with the top of another.
    at += (size_t{g_slots.limit[c]} * sizeof(FreeNode*) + 63) & ~size_t{63};
  }
  // The arrays of grown bins come after all the others: the classes a
  // thread uses keep sharing pages as long as none grows.
  for (unsigned c = 0; c < kNumClasses; ++c) {
    g_slots.capacity[c] = tcache_capacity(c, g_slots.limit[c]);
    if (g_slots.capacity[c] == g_slots.limit[c]) continue;
    at = (at + 63) & ~size_t{63};
    g_slots.grow_offset[c] = static_cast<uint32_t>(at);
    at += size_t{g_slots.capacity[c]} * sizeof(FreeNode*);
  }
  g_slots.map_bytes = at;
}
}  // namespace

ThreadHeap* heap_create() {
  runtime::ensure_init();
  ThreadHeap* h;
  {
    LockGuard g(g_heap_lock);
    h = g_free_heaps;
    if (h) {
      g_free_heaps = h->next_free;
    } else {
      if (!g_slots.map_bytes) slot_layout_init();
      h = static_cast<ThreadHeap*>(os::map(g_slots.map_bytes));
      if (!h) return nullptr;
      h->next_all = g_all_heaps;
      __atomic_store_n(&g_all_heaps, h, __ATOMIC_RELEASE);  // the sweep walks the list without g_heap_lock
    }
  }
  {
    OwnerLock own(h);  // a decommit run may hold it while it finds the heap not live
    h->tc = tl_cache.bins;
    // A heap made after the thread's own was torn down (another key's
    // destructor allocating) may outlive the thread, if no destructor round
    // is left to tear it down too. Its slabs must then never match the thread
    // pointer of a later thread on the same stack: it claims none, and its
    // thread's frees take the remote path until the thread is gone.
    h->thread_ptr = tl_exiting ? 0 : thread_pointer();
    // No class is set up yet (heap_class_setup does it on first use): a
    // fresh heap is zero, a recycled one was left with every class unused.
    h->used_classes = 0;
    h->remote_classes.store(0, std::memory_order_relaxed);
    tl_cache.tick = h->tick_every = decommit::first_tick_every(g_rt.releases);
    h->clock_ms = h->last_tick_ms = h->bin_seen_ms = h->bins_returned_ms = idle_clock();
    h->committed_total = 0;  // refill_at[c] is set with the class (heap_class_setup)
    __atomic_store_n(&h->live, true, __ATOMIC_RELAXED);
  }
  tl_heap = h;  // before pthread_setspecific, which may allocate
  os::thread_exit_key_set(h);
  return h;
}

bool heap_grow_bin(ThreadHeap* h, unsigned c) {
  CacheBin& b = h->tc[c];
  const uint32_t limit = bin_limit(b), cap = g_slots.capacity[c];
  if (limit >= cap) return false;
  const uint32_t n = bin_count(b);
  auto* big = reinterpret_cast<FreeNode**>(reinterpret_cast<char*>(h) + g_slots.grow_offset[c]);
  FreeNode** slots = bin_slots(b);
  if (slots != big) __builtin_memcpy(big, slots, n * sizeof(FreeNode*));
  b = make_bin(big, limit * 2 < cap ? limit * 2 : cap, b.tick_epoch);
  b.top = big + n;
  return true;
}

namespace {
// Class c's bin of h at its first size: its own slot array, empty.
CacheBin first_bin(ThreadHeap* h, unsigned c, uint32_t tick_epoch) {
  auto* slots = reinterpret_cast<FreeNode**>(reinterpret_cast<char*>(h) + g_slots.offset[c]);
  return make_bin(slots, g_slots.limit[c], tick_epoch);
}
}  // namespace

void heap_shrink_bin(ThreadHeap* h, unsigned c) {
  h->tc[c] = first_bin(h, c, h->tc[c].tick_epoch);
  h->bins[c].overflowed = h->bins[c].refilled = false;
}

void heap_class_setup(ThreadHeap* h, unsigned c) {
  h->tc[c] = first_bin(h, c, decommit::kNewBinEpoch);
  h->bins[c] = HeapBin{};
  h->bin_seen[c] = nullptr;
  h->refill_at[c] = h->committed_total;  // in use from now on, not quiet since the start
  h->used_classes |= uint64_t{1} << c;
}

}  // namespace hakmem
