// The small-object slow paths, one file each:
//   refill.cc       small_alloc_slow: an empty cache bin refilled from the heap's slabs or the pool
//   flush.cc        small_flush: half of a full bin back to its slabs; heap_flush_all
//   tick.cc         heap_tick: LEAN's time check when the tick epoch moved (or every tick_every frees)
//   remote_free.cc  small_free_remote: a free into another thread's (or no thread's) slab
//   thread_start.cc heap_create: a thread's first malloc
//   thread_exit.cc  heap_thread_exit: caches flushed, slabs orphaned or given back
//   fork.cc         small_fork_*: the heap and pool locks across fork
//   stats.cc        small_stats
//   make_room.cc    budget_room: the budget and the hard limit before a commit
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/small/size_classes.h"
#include "core/small/slab.h"

namespace hakmem {

struct CacheBin;
struct ThreadHeap;

void* small_alloc_slow(ThreadHeap* h, unsigned c);
// Returns the older half of the full cache bin b to the slabs, then pushes
// f (an object of the bin's class, its guard word written).
void small_flush(ThreadHeap* h, CacheBin* b, FreeNode* f);
// An owner free found the tick epoch moved, or counted down to a tick
// (decommit/tick_epoch.h).
void heap_tick(ThreadHeap* h);
// Before committing bytes of new memory (small: slab pages, the owner's heap
// lock held; else a large block, no lock held; 0: a check on a tick):
// releases what the budget asks for (decommit/budget.h) and returns false
// when the hard limit refuses the commit (counted in limit_failures). On
// true the bytes are in the account already (budget::reserve): the caller
// settles the difference to what it really committed.
bool budget_room(size_t bytes, bool small);
void small_free_remote(SlabMeta* s, FreeNode* f, unsigned c);
// What check_object cannot see in the object itself: whether it lies in an
// empty slab or on a page released while its slab had live objects (where
// the guard word is gone). Aborts if so.
void check_object_owner(const SlabMeta* s, const void* p, const char* op);
// The error paths of free(), reached by a tail call (they do not return;
// not declared noreturn, so that the call stays a tail call and free()
// needs no stack frame).
[[gnu::cold]] void free_bad_pointer(void* p);
[[gnu::cold]] void free_double(void* p);

// Empties cache bin c of h into its slabs (h->lock held).
void heap_return_bin(ThreadHeap* h, unsigned c);
// Every cache bin of h back to its slabs; release_current: the current
// slabs too, if empty.
void heap_flush_all(ThreadHeap* h, bool release_current);
void heap_flush_all_locked(ThreadHeap* h, bool release_current);
ThreadHeap* heap_create();
// The first use of class c by heap h (h->lock held, its cache bin empty):
// sets up the class's cache bin (its slot array in h's mapping), slab lists
// and idle tracking.
void heap_class_setup(ThreadHeap* h, unsigned c);
// Doubles the limit of h's cache bin c, up to the preset's capacity (its
// objects move to an array of that length, in h's mapping, the first
// time); false if it is there already.
bool heap_grow_bin(ThreadHeap* h, unsigned c);
// Puts h's empty cache bin c back at its first limit and slot array.
void heap_shrink_bin(ThreadHeap* h, unsigned c);
void heap_thread_exit(ThreadHeap* h);
// Registers heap_thread_exit to run at every thread's exit.
void heap_key_create();
// Set once the thread's heap was torn down at thread exit (see heap_create).
extern __thread bool tl_exiting __attribute__((tls_model("initial-exec")));

// fork: every heap and pool lock is held across fork (core/fork.cc calls these in lock order).
void small_fork_prepare();
void small_fork_parent();
void small_fork_child();

struct SmallStats {
  size_t live_bytes = 0, tcache_bytes = 0, superslabs = 0, ss_bytes = 0;
  size_t committed = 0, lazyfree = 0, dontneed = 0, metadata = 0;
  size_t live_pages = 0;  // bytes of the pages that hold a live object (objects in other threads' caches count as live)
  struct PerClass {
    size_t superslabs = 0, live_bytes = 0, committed = 0, lazyfree = 0, dontneed = 0;
    size_t tcache_bytes = 0;  // of live_bytes, in thread caches
  } per_class[kNumClasses];
};
SmallStats small_stats();

}  // namespace hakmem
