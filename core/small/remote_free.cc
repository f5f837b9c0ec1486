// A free into a slab the calling thread does not own: pushed onto the
// slab's lock-free remote list, which its owner (or the decommit run, for an
// owner that never returns) collects. Slabs whose owner word is tagged come
// here from free()'s fast path too, and are checked here for what the fast
// path cannot see.
#include "core/small/slow_paths.h"

#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/class_pool.h"
#include "core/small/fast_path.h"
#include "core/small/heap_slabs.h"
#include "core/small/slab_lookup.h"
#include "core/small/thread_heap.h"
#include "decommit/deadline.h"

namespace hakmem {

[[gnu::noinline]] void small_free_remote(SlabMeta* s, FreeNode* f, unsigned c) {
  // Read the owner before publishing: once f is on the list the slab may be
  // collected, emptied and released by its owner at any moment.
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);  // pairs with set_owner
  if (reinterpret_cast<uintptr_t>(owner) & kOwnerTagBits) {
    if (owner == kOwnerEmpty || object_parked(s, f)) report_double_free(f, "free()");
    owner = owner_untagged(owner);
    ThreadHeap* h = tl_heap;
    if (owner == h) return owner_push(s, f, guard_of(s), thread_pointer());
  }
  f->guard = guard_of(s);
  // The list's head and its count change together (remote_head, remote_count).
  uintptr_t w = s->remote_free.load(std::memory_order_relaxed);
  do {
    link_set(f, remote_head(w));
  } while (!s->remote_free.compare_exchange_weak(w, remote_pushed(w, f), std::memory_order_release, std::memory_order_relaxed));
  // The first remote free into a class of a heap (or into any orphan) since
  // the last collection asks for a decommit run soon: its owner may never
  // call again, and only a run collects the objects so their pages can go.
  if (owner) {
    uint64_t bit = uint64_t{1} << c;
    if (!(owner->remote_classes.load(std::memory_order_relaxed) & bit)) {
      owner->remote_classes.fetch_or(bit, std::memory_order_relaxed);
      decommit::note_remote_frees();
    }
  } else if (!decommit::g_orphans_freed.load(std::memory_order_relaxed)) {
    decommit::g_orphans_freed.store(true, std::memory_order_relaxed);
    decommit::note_remote_frees();
  }
}

void check_object_owner(const SlabMeta* s, const void* p, const char* op) {
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);
  if (owner == kOwnerEmpty || object_parked(s, static_cast<const FreeNode*>(p))) report_double_free(p, op);
}

void free_bad_pointer(void* p) { report_bad_pointer(p, "free()"); }
void free_double(void* p) { report_double_free(p, "free()"); }

}  // namespace hakmem
