#include "core/small/heap_slabs.h"

#include "core/small/class_pool.h"
#include "decommit/deadline.h"

namespace hakmem {

void heap_list_remove(HeapBin& bin, SlabMeta* s) {
  switch (s->on_list) {
    case SlabPlace::HeapFull: slab_list_remove(bin.full, s); break;
    case SlabPlace::HeapPartial: slab_list_remove(bin.partial, s); break;
    case SlabPlace::HeapLazy: slab_list_remove(bin.lazy, s); break;
    case SlabPlace::HeapClean: slab_list_remove(bin.clean, s); break;
    default: break;
  }
}

// Slab s of heap h gained free objects: it goes to the back of the partial
// list (kept in order of the last gain, so the sweep finds what is due at the
// front) and is due for the sweep one delay from now.
void slab_mark_gained(SlabMeta* s, uint64_t now) {
  s->idle_since_ms = now;
  s->release_state = decommit::ReleaseState::Committed;
  if (!g_rt.releases) return;
  if (decommit::note_deadline(decommit::next_deadline(g_rt.decommit, decommit::ReleaseState::Committed, now)))
    decommit::wake_background();
}

void slab_gained(ThreadHeap* h, unsigned c, SlabMeta* s, uint64_t now) {
  HeapBin& bin = h->bins[c];
  // On the partial list, gained already at this clock reading (the heap's,
  // in ms) and not swept since: its place (the list is in order of the last
  // gain, to the clock's resolution) and its deadline, noted by that gain,
  // stand. A flush of objects freed in random order returns one or two
  // objects per slab, so without this every object moved a slab on its list
  // (LEAN's bursts-2t: a third of the allocator's instructions). Not the
  // current slab: a refill sets its time without noting a deadline. FAST's
  // clock does not move: it keeps the moves, so its refills take the slab
  // that gained last.
  if (g_rt.releases && s->on_list == SlabPlace::HeapPartial && s->idle_since_ms == now &&
      s->release_state == decommit::ReleaseState::Committed)
    return;
  heap_list_remove(bin, s);  // the current slab is on none and stays current
  if (s != bin.current) slab_list_push(bin.partial, s, SlabPlace::HeapPartial);
  slab_mark_gained(s, now);
}

// An owned slab with no live objects goes back to the pool, unless it is the
// heap's current slab (kept so a thread cycling one object does not bounce).
void heap_release_if_empty(ThreadHeap* h, unsigned c, SlabMeta* s) {
  HeapBin& bin = h->bins[c];
  if (!s || s->used != 0 || s == bin.current) return;
  heap_list_remove(bin, s);
  pool_give_empty(c, s);
}

void collect_remote_full(ThreadHeap* h, unsigned c) {
  HeapBin& bin = h->bins[c];
  for (SlabMeta* s = bin.full.first; s;) {
    SlabMeta* next = s->next;
    if (slab_collect_remote(s)) {
      slab_gained(h, c, s, h->clock_ms);
      heap_release_if_empty(h, c, s);
    }
    s = next;
  }
  if (bin.current && slab_collect_remote(bin.current)) slab_gained(h, c, bin.current, h->clock_ms);
}

}  // namespace hakmem
