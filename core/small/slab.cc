// Operations on one slab's metadata and free lists, shared by the owner's
// slow paths (core/small/refill.cc, flush.cc), the pools and the decommit
// mechanism. Nothing here takes a lock: the caller holds the one that owns
// the slab (its heap's, or its pool's when unowned).
#include "core/small/slab.h"

#include "core/budget_account.h"
#include "core/error_report.h"
#include "core/small/free_link.h"
#include "core/small/slab_lookup.h"
#include "core/small/superslab.h"
#include "core/small/thread_heap.h"

namespace hakmem {

void set_owner(SlabMeta* s, ThreadHeap* h) {
  ThreadHeap* w = owner_word(s, h);
  s->owner_thread_ptr.store(w == h && h ? h->thread_ptr : 0, std::memory_order_relaxed);
  s->owner.store(w, std::memory_order_release);
}

void retag_owner(SlabMeta* s) { set_owner(s, owner_untagged(s->owner.load(std::memory_order_relaxed))); }

void slab_reset_fresh(SlabMeta* s) {
  s->local_free = nullptr;
  __atomic_store_n(&s->carved, 0, __ATOMIC_RELAXED);  // read by free() in other threads
  set_released_pages(s, 0);
  s->lazy_pages = 0;
}

// Collects the objects freed by other threads onto the local free list;
// returns how many. Their links are written here, stores to lines last
// written by other cores that do not wait for each other; the refill that
// hands them out then reads them from this core's cache.
uint32_t slab_collect_remote(SlabMeta* s) {
  uint64_t words = s->remote_words.exchange(0);
  if (!words) return 0;
  std::atomic<uint64_t>* bits = remote_bits_of(s);
  const uintptr_t first = s->obj_addr;
  const size_t size = s->obj_size;
  FreeNode* head = s->local_free;
  uint32_t n = 0;
  do {
    const unsigned j = static_cast<unsigned>(__builtin_ctzll(words));
    words &= words - 1;
    // (Empty when a freer set the word's bit after this word was taken
    // by an earlier collection.)
    for (uint64_t w = bits[j].exchange(0); w; w &= w - 1) {
      auto* f = reinterpret_cast<FreeNode*>(first + (size_t{j} * 64 + static_cast<unsigned>(__builtin_ctzll(w))) * size);
      link_set(f, head);
      head = f;
      ++n;
    }
  } while (words);
  s->local_free = head;
  s->used -= n;
  return n;
}

// Puts the parked objects back on the free list.
void slab_reclaim_pages(SlabMeta* s) {
  unsigned first, last;
  char* base = reinterpret_cast<char*>(s->obj_addr);
  for (uint64_t idx = s->carved; idx-- > 0;) {
    object_pages(s, idx, &first, &last);
    if (!(pages_mask(first, last) & s->released_pages)) continue;
    auto* f = reinterpret_cast<FreeNode*>(base + idx * s->obj_size);
    link_set(f, s->local_free);
    f->guard = guard_of(s);
    s->local_free = f;
  }
  set_released_pages(s, 0);
  retag_owner(s);
  s->lazy_pages = 0;
}

void slab_drop_resident(SlabMeta* s, uint32_t mask) {
  const uint32_t gone = s->resident_pages & mask;
  if (!gone) return;
  s->resident_pages = static_cast<uint16_t>(s->resident_pages & ~gone);
  budget::note_release(static_cast<size_t>(page_count(gone)) * os::kPageSize);
}

bool object_parked(const SlabMeta* s, const void* p) {
  uint32_t released = __atomic_load_n(&s->released_pages, __ATOMIC_RELAXED);
  if (!released) return false;
  unsigned first, last;
  object_pages(s, object_index_of(s, p), &first, &last);
  return (pages_mask(first, last) & released) != 0;
}

}  // namespace hakmem
