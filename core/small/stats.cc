// The small-object figures of hakmem_stats(): per class, what is live,
// committed, released lazily or now, and the pages live objects pin.
#include "core/small/slow_paths.h"

#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"

namespace hakmem {

namespace {
// Bytes of the pages of slab s that hold a live object: one neither free
// (on the free list or the remote bitmap, parked) nor in own_bin, the calling thread's cache
// bin of the class (nullptr: none). The lock of the list s is on is held.
size_t slab_live_page_bytes(const SlabMeta* s, const CacheBin* own_bin) {
  const uint32_t carved = s->carved;
  if (carved == 0) return 0;
  uint16_t total[kMaxSlabPages + 1] = {};
  uint16_t free_objs[kMaxSlabPages + 1] = {};
  unsigned first, last;
  auto count = [&](uint16_t* pages, unsigned f, unsigned l) {
    for (unsigned p = f; p <= l && p <= kMaxSlabPages; ++p) pages[p]++;
  };
  for (uint64_t idx = 0; idx < carved; ++idx) {
    object_pages(s, idx, &first, &last);
    count(total, first, last);
    if (pages_mask(first, last < kMaxSlabPages ? last : kMaxSlabPages - 1) & s->released_pages) count(free_objs, first, last);
  }
  auto count_list = [&](const FreeNode* f) {
    for (; f; f = link_decode(f)) {
      object_pages(s, object_index_of(s, f), &first, &last);
      count(free_objs, first, last);
    }
  };
  count_list(s->local_free);
  const std::atomic<uint64_t>* bits = remote_bits_of(s);
  for (unsigned j = 0; j < kRemoteWords; ++j)
    for (uint64_t w = bits[j].load(std::memory_order_acquire); w; w &= w - 1) {
      object_pages(s, uint64_t{j} * 64 + static_cast<unsigned>(__builtin_ctzll(w)), &first, &last);
      count(free_objs, first, last);
    }
  if (own_bin)
    for (uint32_t i = 0, n = bin_count(*own_bin); i < n; ++i)
      if (const FreeNode* f = bin_slots(*own_bin)[i]; find_slab(f) == s) {
        object_pages(s, object_index_of(s, f), &first, &last);
        count(free_objs, first, last);
      }
  size_t pages = 0;
  for (unsigned p = 0; p <= kMaxSlabPages; ++p) pages += total[p] > free_objs[p];
  return pages * os::kPageSize;
}

// The live-object pages of every slab: owned ones under their heap's lock,
// orphans under their pool's. Objects in other threads' cache bins count as
// live: those bins have no lock.
size_t live_page_bytes() {
  size_t bytes = 0;
  for (ThreadHeap* h = __atomic_load_n(&g_all_heaps, __ATOMIC_ACQUIRE); h; h = h->next_all) {
    LockGuard g(h->lock);
    if (!__atomic_load_n(&h->live, __ATOMIC_RELAXED)) continue;
    for (unsigned c = 0; c < kNumClasses; ++c) {
      const CacheBin* own = h == tl_heap ? &h->tc[c] : nullptr;
      HeapBin& bin = h->bins[c];
      if (bin.current) bytes += slab_live_page_bytes(bin.current, own);
      for (SlabList* l : {&bin.partial, &bin.full, &bin.lazy, &bin.clean})
        for (SlabMeta* s = l->first; s; s = s->next) bytes += slab_live_page_bytes(s, own);
    }
  }
  for (ClassPool& p : g_pools) {
    LockGuard g(p.lock);
    for (SlabMeta* s = p.orphans.first; s; s = s->next) bytes += slab_live_page_bytes(s, nullptr);
  }
  return bytes;
}
}  // namespace

SmallStats small_stats() {
  SmallStats st;
  st.live_pages = live_page_bytes();
  uint64_t now = idle_clock();
  for (unsigned c = 0; c < kNumClasses; ++c) {
    ClassPool& p = g_pools[c];
    LockGuard g(p.lock);
    // Objects freed into the slabs of exited threads are not live.
    pool_sweep_orphans_locked(p, now);
    SmallStats::PerClass& pc = st.per_class[c];
    for (SuperSlab* ss = p.superslabs.first; ss; ss = ss->next) {
      pc.superslabs++;
      st.metadata += ss->header_bytes;
      if (arena::contains(ss->base)) st.metadata += sizeof(SuperSlab) + ss->fresh_next * sizeof(SlabMeta);
      for (uint32_t i = 0; i < ss->fresh_next; ++i) {
        SlabMeta* s = ss->slab_by_take_order(i);
        uint32_t used = __atomic_load_n(&s->used, __ATOMIC_RELAXED);
        uint32_t carved = __atomic_load_n(&s->carved, __ATOMIC_RELAXED);
        pc.live_bytes += size_t{used} * ss->obj_size;
        size_t touched = (size_t{carved} * ss->obj_size + 4095) & ~size_t{4095};
        size_t parked = static_cast<size_t>(page_count(s->released_pages)) * os::kPageSize;
        size_t lazy_parked = static_cast<size_t>(page_count(s->lazy_pages)) * os::kPageSize;
        if (s->on_list == SlabPlace::PoolEmpty && s->release_state == decommit::ReleaseState::LazyFree) {
          pc.lazyfree += kSlabSize;
        } else if (s->on_list == SlabPlace::PoolEmpty && s->release_state == decommit::ReleaseState::Released) {
          pc.dontneed += kSlabSize;
        } else {
          pc.committed += touched > parked ? touched - parked : 0;
          pc.lazyfree += lazy_parked;
          pc.dontneed += parked - lazy_parked;
        }
      }
    }
    st.superslabs += pc.superslabs;
    st.ss_bytes += pc.superslabs * g_rt.ss_size;
    st.live_bytes += pc.live_bytes;
    st.committed += pc.committed;
    st.lazyfree += pc.lazyfree;
    st.dontneed += pc.dontneed;
  }
  LockGuard g(g_heap_lock);
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all) {
    st.metadata += sizeof(ThreadHeap);
    if (!__atomic_load_n(&h->live, __ATOMIC_RELAXED)) continue;
    for (unsigned c = 0; c < kNumClasses; ++c) {
      const CacheBin& b = h->tc[c];
      const CacheBin now{__atomic_load_n(&b.top, __ATOMIC_RELAXED), b.base_low, b.end_low, 0};  // the owner may be pushing
      // ... or growing the bin (heap_grow_bin moves its array): a copy
      // whose fields do not fit together counts nothing.
      const uint32_t limit = bin_limit(now), count = bin_count(now);
      if (limit > g_rt.preset->tcache_max || count > limit) continue;
      st.metadata += size_t{limit} * sizeof(FreeNode*);  // the slot array of a class in use
      const size_t cached = size_t{count} * class_size(c);
      st.per_class[c].tcache_bytes += cached;
      st.tcache_bytes += cached;
    }
  }
  st.live_bytes -= st.tcache_bytes < st.live_bytes ? st.tcache_bytes : st.live_bytes;
  return st;
}

}  // namespace hakmem
