// A free into a slab the calling thread does not own: marked in the
// slab's remote bitmap, which its owner (or the decommit run, for an
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

namespace {
// Marks f freed in s's remote bitmap: its bit, then its word's bit in
// remote_words unless set (slab_collect_remote takes remote_words first and
// then the words it names, so a word bit seen set is taken after this
// object's bit). A bit already set is a double free: the object is waiting
// for its owner to collect it.
[[gnu::always_inline]] inline void remote_push(SlabMeta* s, FreeNode* f) {
  f->guard = guard_of(s);
  const uint64_t idx = object_index_of(s, f);
  const uint64_t bit = uint64_t{1} << (idx % 64);
  const uint64_t word_bit = uint64_t{1} << (idx / 64);
  if (__builtin_expect(remote_bits_of(s)[idx / 64].fetch_or(bit) & bit, 0)) return free_double(f);
  if (!(s->remote_words.load() & word_bit)) s->remote_words.fetch_or(word_bit);
}

// The first remote free into class c of heap owner since its last
// collection asks for a decommit run soon: its owner may never call again,
// and only a run collects the objects so their pages can go.
// Objects cross threads: LEAN's finer classes would cost more than they
// save (core/small/size_classes.h).
[[gnu::noinline]] void note_remote_class(ThreadHeap* owner, uint64_t bit) {
  size_classes_leave_fine();
  owner->remote_classes.fetch_or(bit, std::memory_order_relaxed);
  decommit::note_remote_frees();
}

// The first remote free into any orphan since the last run: likewise.
[[gnu::noinline]] void note_orphan_freed() {
  size_classes_leave_fine();
  decommit::g_orphans_freed.store(true, std::memory_order_relaxed);
  decommit::note_remote_frees();
}

// After f was marked in the remote bitmap of a slab of class c owned by owner
// (nullptr: an orphan).
[[gnu::always_inline]] inline void after_remote_push(ThreadHeap* owner, unsigned c) {
  if (owner) {
    const uint64_t bit = uint64_t{1} << c;
    if (__builtin_expect(!(owner->remote_classes.load(std::memory_order_relaxed) & bit), 0)) note_remote_class(owner, bit);
  } else if (!decommit::g_orphans_freed.load(std::memory_order_relaxed)) {
    note_orphan_freed();
  }
}

// A slab whose owner word is tagged (parked pages, orphaned with parked
// pages, or empty): what free()'s fast path cannot check.
[[gnu::noinline]] void free_remote_tagged(SlabMeta* s, FreeNode* f, unsigned c, ThreadHeap* owner) {
  if (owner == kOwnerEmpty || object_parked(s, f)) report_double_free(f, "free()");
  owner = owner_untagged(owner);
  if (owner == tl_heap) return owner_push(s, f, guard_of(s), thread_pointer());
  remote_push(s, f);
  after_remote_push(owner, c);
}
}  // namespace

// The common case (a plain owner, or an orphan) calls nothing but on its
// rare first free into a class: no registers to save.
[[gnu::noinline]] void small_free_remote(SlabMeta* s, FreeNode* f, unsigned c) {
  // Read the owner before publishing: once f is on the list the slab may be
  // collected, emptied and released by its owner at any moment.
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);  // pairs with set_owner
  if (__builtin_expect(reinterpret_cast<uintptr_t>(owner) & kOwnerTagBits, 0)) return free_remote_tagged(s, f, c, owner);
  remote_push(s, f);
  after_remote_push(owner, c);
}

void check_object_owner(const SlabMeta* s, const void* p, const char* op) {
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);
  if (owner == kOwnerEmpty || object_parked(s, static_cast<const FreeNode*>(p))) report_double_free(p, op);
}

void free_bad_pointer(void* p) { report_bad_pointer(p, "free()"); }
void free_double(void* p) { report_double_free(p, "free()"); }

}  // namespace hakmem
