// An empty cache bin: refilled from the heap's current slab, then its other
// slabs with free objects, then the class pool (decommit first, before the
// heap grows).
//
//   small_alloc_slow
//     heap_create                  the thread's first malloc (thread_start.cc)
//     decommit::run_if_due_at
//     refill
//       collect_remote_full        the class had remote frees
//       refill_from_slab           free list first, else carve about a page
//         slab_commit_pages        pages not yet in the account: budget_room first (make_room.cc)
//       pool_acquire               nothing left in the heap
#include "core/small/slow_paths.h"

#include "core/budget_account.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"
#include "decommit/run.h"
#include "decommit/tick_epoch.h"

namespace hakmem {

namespace {
// Pages of mask not yet counted enter the committed-bytes account (reserved
// bytes were counted for them before).
void count_pages(ThreadHeap* h, SlabMeta* s, uint32_t mask, size_t reserved) {
  const uint32_t fresh = mask & ~uint32_t{s->resident_pages};
  const size_t added = static_cast<size_t>(page_count(fresh)) * os::kPageSize;
  budget::settle_small(reserved, added);
  h->committed_total += added;
  s->resident_pages = static_cast<uint16_t>(s->resident_pages | mask);
}

// Pages of s about to be touched enter the committed-bytes account; false
// when the budget's hard limit refuses them.
bool slab_commit_pages(ThreadHeap* h, SlabMeta* s, uint32_t mask) {
  const uint32_t fresh = mask & ~uint32_t{s->resident_pages};
  if (!fresh) return true;
  const size_t bytes = static_cast<size_t>(page_count(fresh)) * os::kPageSize;
  if (!budget::active()) budget::note_commit(bytes);
  else if (!budget_room(bytes, true)) return false;
  // The release may have touched s too (never these pages: they are not
  // wholly carved, or are parked): count what is new now.
  count_pages(h, s, mask, bytes);
  return true;
}

// How many of n objects (more than page_worth) to carve from byte offset
// from of s's object area: page_worth, or more as long as every object's
// last byte lies on a page already resident (in the account: touching it
// commits nothing new). A page MADV_FREE left in place is resident too:
// carving into it takes it back from the kernel at most half a bin early
// (n <= refill_want), memory the bin may hold anyway.
uint32_t carve_count_resident(const SlabMeta* s, uint64_t from, uint32_t size, uint32_t n, uint32_t page_worth) {
  // Pages from the first one on that are resident, as a run of low bits
  // (the mask has 16 bits: its complement in 32 is never 0).
  const unsigned first = static_cast<unsigned>(from / os::kPageSize);
  const unsigned pages = static_cast<unsigned>(__builtin_ctz(~(uint32_t{s->resident_pages} >> first)));
  const uint64_t end = uint64_t{first + pages} * os::kPageSize;  // past the resident run
  const uint64_t fit = end > from ? (end - from) / size : 0;
  if (fit <= page_worth) return page_worth;
  return fit < n ? static_cast<uint32_t>(fit) : n;
}

// refill_from_slab's answer when the hard limit refused the pages.
constexpr uint32_t kNoRoom = UINT32_MAX;

// Move up to want objects from s to the thread cache (kNoRoom: the hard
// limit refused the pages that would take).
uint32_t refill_from_slab(ThreadHeap* h, CacheBin& b, SuperSlab* ss, SlabMeta* s, uint32_t want) {
  uint32_t n = 0;
  // With no object handed out the slab starts afresh: carving writes its
  // memory in address order, where its free list would be read in the order
  // the objects were freed, usually long ago and so from memory (after a
  // burst of frees, twice the cache misses per object).
  if (s->used == 0 && s->carved != 0) {
    bool parked = s->released_pages != 0;
    slab_reset_fresh(s);
    if (parked) retag_owner(s);
  }
  if (!s->local_free && s->carved == s->capacity && s->released_pages) {
    // The parked objects are handed out again: their pages come back.
    if (!slab_commit_pages(h, s, s->released_pages)) return kNoRoom;
    // The release that made room may have parked more of s's pages (its
    // flush put the caller's cached objects on s, its sweep released the
    // pages they freed): all are reclaimed, so all are counted. No check:
    // that release gave back at least as much.
    count_pages(h, s, s->released_pages, 0);
    slab_reclaim_pages(s);
  }
  FreeNode** out = b.top;  // room for want (refill_want: at most half the bin)
  if (s->local_free) {
    // The list's first object is popped first: it goes on top.
    FreeNode* f = s->local_free;
    while (n < want && f) {
      out[n++] = f;
      f = link_next_in_slab(s, f);
    }
    s->local_free = f;
    for (uint32_t i = 0; i < n / 2; ++i) {
      FreeNode* t = out[i];
      out[i] = out[n - 1 - i];
      out[n - 1 - i] = t;
    }
  } else if (s->carved < s->capacity) {
    // Carve lazily: about a page at a time, so fresh memory is touched only
    // as it is used; but through pages still resident, as many as wanted (a
    // slab emptied by a burst's frees starts afresh with its pages in RSS,
    // and page-at-a-time carving of 2-4 KiB objects then took one refill per
    // malloc: LEAN's bursts-2t went to the slow path on 1 malloc in 3).
    uint32_t size = ss->obj_size;
    uint32_t page_worth = size >= 4096 ? 1 : 4096 / size;
    n = s->capacity - s->carved;
    if (n > want) n = want;
    const uint64_t from = uint64_t{s->carved} * size;
    if (n > page_worth) n = carve_count_resident(s, from, size, n, page_worth);
    const uint64_t to = from + uint64_t{n} * size;
    if (!slab_commit_pages(h, s, pages_mask(static_cast<unsigned>(from / os::kPageSize), static_cast<unsigned>((to - 1) / os::kPageSize))))
      return kNoRoom;
    // New objects carry the guard word like every free object, so that
    // free() of one never handed out is caught as the double free it is.
    // The lowest address goes on top: handed out in address order.
    char* p = ss->obj_begin(s) + size_t{s->carved} * size;
    const uintptr_t guard = guard_of(s);
    for (uint32_t i = 0; i < n; ++i) {
      auto* f = reinterpret_cast<FreeNode*>(p + size_t{i} * size);
      f->guard = guard;
      out[n - 1 - i] = f;
    }
    __atomic_store_n(&s->carved, s->carved + n, __ATOMIC_RELAXED);  // read by free() in other threads
  }
  s->used += n;
  b.top += n;
  return n;
}

// A thread's first refills of a class move few objects, doubling up to
// half the bin: a thread that allocates a handful of objects and exits
// (a thread pool's short task) then does not walk hundreds of objects off a
// slab's free list and back at its exit. A busy class reaches the full
// batch after a few refills.
constexpr uint32_t kFirstRefill = 4;
constexpr uint32_t kRefillRamp = 8;

uint32_t refill_want(const CacheBin& b, HeapBin& bin) {
  const uint32_t half = bin_limit(b) / 2 ? bin_limit(b) / 2 : 1;
  const uint32_t ramp = kFirstRefill << bin.refills;
  if (bin.refills < kRefillRamp) bin.refills++;
  return ramp < half ? ramp : half;
}

bool refill(ThreadHeap* h, unsigned c) {
  CacheBin& b = h->tc[c];
  HeapBin& bin = h->bins[c];
  uint64_t bit = uint64_t{1} << c;
  if (!(h->used_classes & bit)) heap_class_setup(h, c);
  const uint32_t want = refill_want(b, bin);
  // A cycle is an overflow, a refill, and an overflow again: a burst of
  // mallocs and then one of frees is not one (small_flush).
  bin.refilled = bin.overflowed;
  if (h->remote_classes.load(std::memory_order_relaxed) & bit) {
    h->remote_classes.fetch_and(~bit, std::memory_order_relaxed);
    collect_remote_full(h, c);
  }
  for (;;) {
    SlabMeta* s = bin.current;
    if (s) {
      SuperSlab* ss = superslab_of_slab(s);
      const uint32_t got = refill_from_slab(h, b, ss, s, want);
      if (got == kNoRoom) return false;
      if (got) {
        s->idle_since_ms = h->clock_ms;  // in use: not idle
        budget::note_use(c, h->refill_at, h->committed_total);
        return true;
      }
      if (slab_collect_remote(s)) continue;
      slab_list_push(bin.full, s, SlabPlace::HeapFull);
      bin.current = nullptr;
    }
    // The slab that gained objects last is the likeliest to be resident;
    // swept slabs after the unswept ones.
    if ((s = bin.partial.last) || (s = bin.lazy.last) || (s = bin.clean.last)) {
      heap_list_remove(bin, s);
      bin.current = s;
      continue;
    }
    s = pool_acquire(c, h);
    if (!s) return false;
    bin.current = s;
  }
}
}  // namespace

[[gnu::noinline]] void* small_alloc_slow(ThreadHeap* h, unsigned c) {
  if (h == &g_empty_heap) {
    h = heap_create();
    if (!h) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  // One clock read for both: the run's "anything due?" and the heap's clock
  // (the run, if any, takes a few ms at most; the coarse clock is that coarse).
  const uint64_t now = g_rt.releases ? os::now_ms_coarse() : 0;
  if (g_rt.releases) {
    decommit::start_background_thread_if_wanted();
    decommit::note_tick_activity();
    decommit::run_if_due_at(now);
  }
  CacheBin& b = h->tc[c];
  if (bin_count(b) == 0) {
    OwnerLock g(h);
    if (g_rt.releases) h->clock_ms = now;
    if (!refill(h, c)) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  FreeNode* f = *--b.top;
  f->guard = 0;
  return f;
}

}  // namespace hakmem
