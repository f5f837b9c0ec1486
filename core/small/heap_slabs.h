// A heap's slab lists: where an owned slab goes when it gains free objects,
// when it becomes empty, and collecting the remote frees of a class. Used
// by the owner's slow paths and by the decommit sweep (which holds the
// heap's lock as the owner would).
#pragma once
#include <cstdint>

#include "core/small/thread_heap.h"

namespace hakmem {

// Takes an owned slab off whichever of its heap's lists it is on.
void heap_list_remove(HeapBin& bin, SlabMeta* s);
// s gained free objects at now: due for the sweep one delay later.
void slab_mark_gained(SlabMeta* s, uint64_t now);
// The same for a slab of heap h: to the back of its partial list.
void slab_gained(ThreadHeap* h, unsigned c, SlabMeta* s, uint64_t now);
// An owned slab with no live objects goes back to the pool, unless it is
// the heap's current slab.
void heap_release_if_empty(ThreadHeap* h, unsigned c, SlabMeta* s);
// Collects the remote frees of class c's full and current slabs.
void collect_remote_full(ThreadHeap* h, unsigned c);

}  // namespace hakmem
