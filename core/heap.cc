// Slow paths of the small-object allocator: refilling thread caches, slabs
// moving between thread heaps and the per-class pools, SuperSlab mapping, and
// the decommit mechanism that applies decommit/policy.h to idle slabs.
#include "core/heap.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/large.h"
#include "core/lock.h"
#include "core/platform.h"

namespace hakmem {

ThreadHeap g_empty_heap;
__thread ThreadHeap* tl_heap __attribute__((tls_model("initial-exec"))) = &g_empty_heap;
__thread ThreadCache tl_cache __attribute__((tls_model("initial-exec")));
intptr_t g_tc_tp_off;

namespace {

// ---------------------------------------------------------------------------
// Intrusive slab lists

void list_push_back(SlabListHead& l, SlabMeta* s, SlabList tag) {
  s->list = tag;
  s->next = nullptr;
  s->prev = l.last;
  if (l.last) l.last->next = s;
  else l.first = s;
  l.last = s;
}

void list_remove(SlabListHead& l, SlabMeta* s) {
  if (s->prev) s->prev->next = s->next;
  else l.first = s->next;
  if (s->next) s->next->prev = s->prev;
  else l.last = s->prev;
  s->prev = s->next = nullptr;
  s->list = SlabList::None;
}

SlabMeta* list_pop_back(SlabListHead& l) {
  SlabMeta* s = l.last;
  if (s) list_remove(l, s);
  return s;
}

SuperSlab* superslab_of_slab(SlabMeta* s) {
  if (arena::contains(s->obj_addr)) return arena::header_of(s->obj_addr);
  return reinterpret_cast<SuperSlab*>(s->obj_addr & g_rt.ss_mask);
}

// ---------------------------------------------------------------------------
// Per-class pools: SuperSlabs of the class, empty slabs, orphaned slabs.

struct ClassPool {
  SpinLock lock;
  SlabListHead empty;      // used == 0, unowned, oldest first
  SlabListHead orphans;    // unowned with live objects (their thread exited)
  SuperSlab* superslabs;   // every SuperSlab of the class
  uint32_t superslab_count;
};

ClassPool g_pools[kNumClasses];
std::atomic<uint64_t> g_next_deadline{UINT64_MAX};
std::atomic<uint64_t> g_superslabs_mapped{0};
std::atomic<uint32_t> g_superslab_seq{0};  // SuperSlabs made so far: staggers SuperSlab::first_slab

// Returns true if t is now the earliest deadline (the background thread,
// sleeping until a later one, must be woken).
bool note_deadline(uint64_t t) {
  uint64_t cur = g_next_deadline.load(std::memory_order_relaxed);
  while (t < cur)
    if (g_next_deadline.compare_exchange_weak(cur, t, std::memory_order_relaxed)) return true;
  return false;
}

void background_wake();

// Set by a remote free into an orphan, cleared by the decommit run that
// collects them.
std::atomic<bool> g_orphans_freed{false};

std::atomic<uint64_t> g_last_run_ms{0};

// Slabs gain objects all the time in a busy program, each asking for a run a
// delay later: runs that are not forced come at most once per run_gap_ms (an
// eighth of a delay, at least 5 ms), so each slab is swept about once per
// delay at most and a run's fixed cost (every heap's classes, every pool)
// stays small. When a run for deadline d may start:
uint64_t run_due_at(uint64_t d) {
  const uint64_t gap = g_rt.decommit.delay_ms / 8 > 5 ? g_rt.decommit.delay_ms / 8 : 5;
  const uint64_t earliest = g_last_run_ms.load(std::memory_order_relaxed) + gap;
  return d > earliest ? d : earliest;
}

// Remote frees wait to be collected: a run soon (an eighth of a delay).
void note_remote_frees() {
  if (!g_rt.releases) return;
  const uint64_t soon = os::now_ms_coarse() + g_rt.decommit.delay_ms / 8;
  if (note_deadline(soon)) background_wake();
}

// Set while the thread holds its own heap's lock (OwnerLock): a decommit run
// started from inside the owner's slow path sweeps that heap without taking
// the lock again, and only try-locks the others.
__thread bool tl_heap_locked __attribute__((tls_model("initial-exec")));

// The owner's slow paths that touch its slabs hold this.
class OwnerLock {
 public:
  explicit OwnerLock(ThreadHeap* h) : h_(h) {
    h_->lock.lock();
    tl_heap_locked = true;
  }
  ~OwnerLock() {
    tl_heap_locked = false;
    h_->lock.unlock();
  }
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

 private:
  ThreadHeap* h_;
};

// Object area of a slab, page aligned: what the decommit mechanism releases.
void slab_object_area(SuperSlab* ss, SlabMeta* s, char** begin, size_t* len) {
  char* b = ss->obj_begin(s);
  char* e = ss->slab_base(s) + kSlabSize;
  *begin = b;
  *len = static_cast<size_t>(e - b);
}

// The owner word for heap h (or nullptr), tagged if s has parked pages.
ThreadHeap* owner_word(const SlabMeta* s, ThreadHeap* h) {
  return reinterpret_cast<ThreadHeap*>(reinterpret_cast<uintptr_t>(h) | (s->released_pages ? kOwnerParked : 0));
}
ThreadHeap* owner_untagged(ThreadHeap* w) {
  return reinterpret_cast<ThreadHeap*>(reinterpret_cast<uintptr_t>(w) & ~kOwnerParked);
}
// Sets the owner word and, for a plain owner, the owner's thread pointer
// that free()'s fast path compares (0 otherwise: never a thread pointer).
void set_owner(SlabMeta* s, ThreadHeap* h) {
  ThreadHeap* w = owner_word(s, h);
  s->owner_tp.store(w == h && h ? h->tp : 0, std::memory_order_relaxed);
  s->owner.store(w, std::memory_order_release);
}
// Owner context, after released_pages changed: retag.
void retag_owner(SlabMeta* s) { set_owner(s, owner_untagged(s->owner.load(std::memory_order_relaxed))); }
// released_pages is read by free() in other threads (small_free_remote).
void set_released_pages(SlabMeta* s, uint32_t v) { __atomic_store_n(&s->released_pages, v, __ATOMIC_RELAXED); }

// A slab with no live object starts over: nothing carved, nothing parked.
// The owner word is left alone: a pool slab's stays kOwnerEmpty; an owned
// slab that had parked pages must be retagged by its owner (retag_owner).
void slab_reset_fresh(SlabMeta* s) {
  s->free = nullptr;
  s->free_count = 0;
  __atomic_store_n(&s->carved, 0, __ATOMIC_RELAXED);  // read by free() in other threads
  set_released_pages(s, 0);
  s->lazy_pages = 0;
}

// ---------------------------------------------------------------------------
// Page-granular release inside slabs that still hold live objects (LEAN).
// Owner context only: it rewrites the slab's local free list.

constexpr unsigned kMaxSlabPages = kSlabSize / os::kPageSize;

// Pages [first, last] that object idx overlaps.
inline void object_pages(const SlabMeta* s, uint64_t idx, unsigned* first, unsigned* last) {
  uint64_t b = idx * s->obj_size;
  *first = static_cast<unsigned>(b / os::kPageSize);
  *last = static_cast<unsigned>((b + s->obj_size - 1) / os::kPageSize);
}

inline uint32_t pages_mask(unsigned first, unsigned last) {
  return static_cast<uint32_t>(((uint64_t{1} << (last + 1)) - 1) & ~((uint64_t{1} << first) - 1));
}

uint64_t object_of(const SlabMeta* s, const void* p) {
  return object_index(object_offset(s, reinterpret_cast<uintptr_t>(p)), s->recip);
}

// Gives a range back to the OS the way the policy decided.
void release_range(char* p, size_t len, DecommitAction how) {
  if (how == DecommitAction::Free) os::advise_free(p, len);
  else os::advise_dontneed(p, len);
}

void advise_pages(SuperSlab* ss, SlabMeta* s, uint32_t mask, DecommitAction how) {
  char* base = ss->obj_begin(s);
  for (unsigned i = 0; i < kMaxSlabPages;) {
    if (!(mask >> i & 1)) {
      ++i;
      continue;
    }
    unsigned j = i;
    while (j < kMaxSlabPages && (mask >> j & 1)) ++j;
    release_range(base + size_t{i} * os::kPageSize, size_t{j - i} * os::kPageSize, how);
    i = j;
  }
}

// Releases the pages every overlapping object of which is free.
void slab_release_free_pages(SuperSlab* ss, SlabMeta* s, DecommitAction how) {
  if (!s->free) return;
  // Only pages wholly inside the carved area: objects carved later must
  // never overlap a released page. Once all is carved, the last page too
  // (past the last object it holds nothing).
  const uint64_t carved_bytes = uint64_t{s->carved} * s->obj_size;
  unsigned full_pages = static_cast<unsigned>(s->carved == s->capacity ? (carved_bytes + os::kPageSize - 1) / os::kPageSize
                                                                      : carved_bytes / os::kPageSize);
  if (full_pages == 0) return;
  uint16_t total[kMaxSlabPages] = {};
  uint16_t free_objs[kMaxSlabPages] = {};
  unsigned first, last;
  for (uint64_t idx = 0; idx < s->carved; ++idx) {
    object_pages(s, idx, &first, &last);
    for (unsigned p = first; p <= last && p < kMaxSlabPages; ++p) total[p]++;
  }
  for (FreeNode* f = s->free; f; f = link_next_in_slab(s, f)) {
    object_pages(s, object_of(s, f), &first, &last);
    for (unsigned p = first; p <= last && p < kMaxSlabPages; ++p) free_objs[p]++;
  }
  uint32_t mask = 0;
  for (unsigned p = 0; p < full_pages && p < kMaxSlabPages; ++p)
    if (total[p] && total[p] == free_objs[p] && !(s->released_pages >> p & 1)) mask |= uint32_t{1} << p;
  if (!mask) return;
  uint32_t parked = s->released_pages | mask;
  // Unlink the objects on those pages (the list was checked just above).
  FreeNode* kept = nullptr;  // the last object kept so far
  for (FreeNode* f = s->free; f;) {
    FreeNode* next = link_decode(f);
    object_pages(s, object_of(s, f), &first, &last);
    if (pages_mask(first, last) & parked) {
      s->free_count--;
    } else {
      if (kept) link_set(kept, f);
      else s->free = f;
      kept = f;
    }
    f = next;
  }
  if (kept) link_set(kept, nullptr);
  else s->free = nullptr;
  advise_pages(ss, s, mask, how);
  set_released_pages(s, parked);
  retag_owner(s);
  if (how == DecommitAction::Free) s->lazy_pages |= mask;
}

// Puts the parked objects back on the free list.
void slab_reclaim_pages(SlabMeta* s, SuperSlab* ss) {
  unsigned first, last;
  char* base = ss->obj_begin(s);
  for (uint64_t idx = s->carved; idx-- > 0;) {
    object_pages(s, idx, &first, &last);
    if (!(pages_mask(first, last) & s->released_pages)) continue;
    auto* f = reinterpret_cast<FreeNode*>(base + idx * s->obj_size);
    link_set(f, s->free);
    f->guard = guard_of(s);
    s->free = f;
    s->free_count++;
  }
  set_released_pages(s, 0);
  retag_owner(s);
  s->lazy_pages = 0;
}

SuperSlab* superslab_new(unsigned c) {
  size_t size = g_rt.ss_size;
  void* mem = arena::take();
  bool own_mapping = !mem;
  if (own_mapping) mem = os::map_aligned(size, size);
  if (!mem) return nullptr;
  if (g_rt.opt.lean) os::advise_nohugepage(mem, size);
  const uintptr_t base = reinterpret_cast<uintptr_t>(mem);
  size_t slabs = size >> kSlabShift;
  // In the arena the header and slab metadata live in the arena's tables and
  // every byte of the slot holds objects; a SuperSlab mapped on its own
  // carries them in its first page(s).
  SuperSlab* ss = own_mapping ? static_cast<SuperSlab*>(mem) : arena::header_of(base);
  size_t header = own_mapping ? superslab_header_bytes(slabs) : 0;
  ss->base = base;
  ss->slabs = own_mapping ? reinterpret_cast<SlabMeta*>(base + kInlineSlabsOffset) : arena::slab_of(base);
  ss->magic = kSuperSlabMagic;
  ss->class_idx = c;
  ss->obj_size = class_size(c);
  ss->recip = ((uint64_t{1} << 48) + ss->obj_size - 1) / ss->obj_size;
  ss->slab_count = static_cast<uint32_t>(slabs);
  ss->header_bytes = static_cast<uint32_t>(header);
  ss->fresh_next = 0;
  ss->first_slab = static_cast<uint32_t>(g_superslab_seq.fetch_add(1, std::memory_order_relaxed)) & (ss->slab_count - 1);
  for (size_t i = 0; i < slabs; ++i) {
    SlabMeta* s = &ss->slabs[i];
    size_t begin = i << kSlabShift;
    size_t start = begin < header ? header : begin;
    s->index = static_cast<uint16_t>(i);
    s->recip = ss->recip;
    s->tz = static_cast<uint8_t>(__builtin_ctz(ss->obj_size));
    s->inv = odd_inverse(ss->obj_size >> s->tz);
    s->obj_size = ss->obj_size;
    s->class_idx = static_cast<uint16_t>(c);
    s->tp_off = static_cast<int32_t>(g_tc_tp_off + tc_offset(c));
    s->guard = g_rt.guard_key ^ reinterpret_cast<uintptr_t>(s);
    s->obj_addr = base + start;
    s->capacity = start >= begin + kSlabSize ? 0 : static_cast<uint32_t>((begin + kSlabSize - start) / ss->obj_size);
    // fresh mmap memory and given-back arena metadata are zero: the other fields already are.
  }
  if (own_mapping && !registry::set_superslab(base, true)) {
    os::unmap(mem, size);
    return nullptr;
  }
  g_superslabs_mapped.fetch_add(1, std::memory_order_relaxed);
  return ss;
}

void superslab_unmap(SuperSlab* ss) {
  const uintptr_t base = ss->base;
  if (arena::contains(base)) return arena::give(reinterpret_cast<void*>(base));
  registry::set_superslab(base, false);
  os::unmap(ss, g_rt.ss_size);
}

void pool_link_superslab(ClassPool& p, SuperSlab* ss) {
  ss->prev = nullptr;
  ss->next = p.superslabs;
  if (p.superslabs) p.superslabs->prev = ss;
  p.superslabs = ss;
  p.superslab_count++;
}

// A slab with capacity from a SuperSlab that still has fresh slabs.
SlabMeta* pool_take_fresh(ClassPool& p) {
  for (SuperSlab* ss = p.superslabs; ss; ss = ss->next) {
    while (ss->fresh_next < ss->slab_count) {
      SlabMeta* s = ss->taken(ss->fresh_next++);
      if (s->capacity == 0) continue;  // wholly inside the header
      ss->active++;
      return s;
    }
  }
  return nullptr;
}

// Collects the remote list into the local free list; returns how many.
uint32_t slab_collect_remote(SlabMeta* s) {
  FreeNode* r = s->remote.exchange(nullptr, std::memory_order_acquire);
  if (!r) return 0;
  uint32_t n = 1;
  FreeNode* tail = r;
  while (FreeNode* next = link_next_in_slab(s, tail)) {
    tail = next;
    ++n;
  }
  link_set(tail, s->free);
  s->free = r;
  s->free_count += n;
  s->used -= n;
  return n;
}

// Bytes of empty slabs in the pools that are still committed (the idle
// memory the cap in DecommitConfig bounds).
std::atomic<size_t> g_idle_committed{0};

// An empty slab leaves the pool's empty list, or its committed state.
void idle_leave(const SlabMeta* s) {
  if (s->span == SpanState::Committed) g_idle_committed.fetch_sub(kSlabSize, std::memory_order_relaxed);
}

// Under p.lock: unmaps a SuperSlab none of whose slabs is in use.
void pool_unmap_superslab_locked(ClassPool& p, SuperSlab* ss) {
  for (uint32_t i = 0; i < ss->fresh_next; ++i) {
    SlabMeta* s = ss->taken(i);
    if (s->list == SlabList::PoolEmpty) list_remove(p.empty, s), idle_leave(s);
  }
  if (ss->prev) ss->prev->next = ss->next;
  else p.superslabs = ss->next;
  if (ss->next) ss->next->prev = ss->prev;
  p.superslab_count--;
  superslab_unmap(ss);
  g_superslabs_mapped.fetch_sub(1, std::memory_order_relaxed);
}

// Under p.lock: gives an empty slab's memory back the way a said, now.
void pool_release_slab_locked(SlabMeta* s, DecommitAction a) {
  SuperSlab* ss = superslab_of_slab(s);
  char* b;
  size_t len;
  slab_object_area(ss, s, &b, &len);
  release_range(b, len, a);
  // The free list lived in the released memory: the slab starts afresh.
  slab_reset_fresh(s);
  idle_leave(s);
  s->span = after(s->span, a);
}

// Under p.lock: put a slab with no live objects on the empty list.
void pool_add_empty_locked(ClassPool& p, SlabMeta* s, uint64_t now) {
  s->owner_tp.store(0, std::memory_order_relaxed);
  s->owner.store(kOwnerEmpty, std::memory_order_relaxed);
  s->idle_since_ms = now;
  s->span = SpanState::Committed;
  list_push_back(p.empty, s, SlabList::PoolEmpty);
  superslab_of_slab(s)->active--;
  note_deadline(next_deadline(g_rt.decommit, SpanState::Committed, now));
  size_t idle = g_idle_committed.fetch_add(kSlabSize, std::memory_order_relaxed) + kSlabSize;
  if (over_idle_cap(g_rt.decommit, idle)) {
    // Over the cap: this class's oldest committed empty slab goes now. Its
    // SuperSlab stays mapped until the delay has passed (decommit_run trims
    // it then): unmapping it here would also throw away the pages MADV_FREE
    // left in place, and a program that refills them would fault every one
    // back in (phases ran 20% slower that way, for 0.7 MB less RSS).
    for (SlabMeta* old = p.empty.first; old; old = old->next) {
      if (old->span == SpanState::Committed) {
        pool_release_slab_locked(old, first_stage(g_rt.decommit));
        break;
      }
    }
  }
}

uint64_t idle_clock() { return g_rt.decommit.mode == DecommitMode::Off ? 0 : os::now_ms(); }

void pool_give_empty(unsigned c, SlabMeta* s) {
  uint64_t now = idle_clock();
  {
    LockGuard g(g_pools[c].lock);
    pool_add_empty_locked(g_pools[c], s, now);
  }
  if (g_rt.decommit.mode != DecommitMode::Off) background_wake();
}

SlabMeta* pool_acquire(unsigned c, ThreadHeap* h) {
  ClassPool& p = g_pools[c];
  LockGuard g(p.lock);
  SlabMeta* s = list_pop_back(p.orphans);
  if (s) {
    set_owner(s, h);  // publishes the heap to remote freers
    slab_collect_remote(s);
    return s;
  }
  s = p.empty.last;
  // The most recently emptied slab is likely still resident; released ones
  // cost page faults like fresh ones, so prefer fresh slabs over those.
  if (s && s->span == SpanState::Released) {
    if (SlabMeta* f = pool_take_fresh(p)) s = f;
    else list_remove(p.empty, s), superslab_of_slab(s)->active++;
  } else if (s) {
    list_remove(p.empty, s);
    idle_leave(s);
    superslab_of_slab(s)->active++;
  } else {
    s = pool_take_fresh(p);
  }
  if (!s) {
    SuperSlab* ss = superslab_new(c);
    if (!ss) return nullptr;
    pool_link_superslab(p, ss);
    s = pool_take_fresh(p);
  }
  s->span = SpanState::Committed;
  set_owner(s, h);  // publishes the heap to remote freers
  return s;
}

// ---------------------------------------------------------------------------
// Thread heaps

SpinLock g_heap_lock;
ThreadHeap* g_all_heaps;
ThreadHeap* g_free_heaps;
pthread_key_t g_heap_key;

uint32_t tcache_limit(unsigned c) {
  const ModePreset& p = *g_rt.preset;
  uint32_t n = p.tcache_bytes / class_size(c);
  if (n < p.tcache_min) n = p.tcache_min;
  if (n > p.tcache_max) n = p.tcache_max;
  return n;
}

// Owner frees between two time checks at most (adapt_tick lowers it for a
// thread that frees slowly): often enough that light activity releases
// memory within a delay, rare enough to cost nothing measurable.
constexpr uint32_t kTickEveryMax = 64;
uint32_t tick_interval() { return g_rt.decommit.mode == DecommitMode::Off ? UINT32_MAX : kTickEveryMax; }

// Set once the thread's heap was torn down at thread exit (see heap_create).
__thread bool tl_exiting __attribute__((tls_model("initial-exec")));

ThreadHeap* heap_create() {
  runtime::ensure_init();
  ThreadHeap* h;
  {
    LockGuard g(g_heap_lock);
    h = g_free_heaps;
    if (h) {
      g_free_heaps = h->next_free;
    } else {
      h = static_cast<ThreadHeap*>(os::map(sizeof(ThreadHeap)));
      if (!h) return nullptr;
      h->next_all = g_all_heaps;
      __atomic_store_n(&g_all_heaps, h, __ATOMIC_RELEASE);  // decommit_run walks the list without g_heap_lock
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
    h->tp = tl_exiting ? 0 : thread_pointer();
    for (unsigned c = 0; c < kNumClasses; ++c) {
      h->tc[c] = TcBin{nullptr, static_cast<int32_t>(tcache_limit(c)), tcache_limit(c)};
      h->bins[c] = HeapBin{};
    }
    h->remote_classes.store(0, std::memory_order_relaxed);
    tl_cache.tick = h->tick_every = tick_interval();
    h->clock_ms = h->last_tick_ms = h->bin_seen_ms = h->bins_returned_ms = idle_clock();
    for (FreeNode*& seen : h->bin_seen) seen = nullptr;
    __atomic_store_n(&h->live, true, __ATOMIC_RELAXED);
  }
  tl_heap = h;  // before pthread_setspecific, which may allocate
  pthread_setspecific(g_heap_key, h);
  return h;
}

void heap_key_destructor(void* arg) {
  tl_exiting = true;
  heap_thread_exit(static_cast<ThreadHeap*>(arg));
}

// Takes an owned slab off whichever of its heap's lists it is on.
void heap_list_remove(HeapBin& bin, SlabMeta* s) {
  switch (s->list) {
    case SlabList::HeapFull: list_remove(bin.full, s); break;
    case SlabList::HeapPartial: list_remove(bin.partial, s); break;
    case SlabList::HeapLazy: list_remove(bin.lazy, s); break;
    case SlabList::HeapClean: list_remove(bin.clean, s); break;
    default: break;
  }
}

// Slab s of heap h gained free objects: it goes to the back of the partial
// list (kept in order of the last gain, so the sweep finds what is due at the
// front) and is due for the sweep one delay from now.
void slab_mark_gained(SlabMeta* s, uint64_t now) {
  s->idle_since_ms = now;
  s->span = SpanState::Committed;
  if (g_rt.releases && note_deadline(next_deadline(g_rt.decommit, SpanState::Committed, now))) background_wake();
}

void slab_gained(ThreadHeap* h, unsigned c, SlabMeta* s, uint64_t now) {
  HeapBin& bin = h->bins[c];
  heap_list_remove(bin, s);  // the current slab is on none and stays current
  if (s != bin.current) list_push_back(bin.partial, s, SlabList::HeapPartial);
  slab_mark_gained(s, now);
}

// The owner's path back to a slab: puts the n objects first..last (linked
// in that order, all of one slab owned by h) on the slab's free list.
// Returns the slab if it has no live object left.
SlabMeta* slab_put_local(ThreadHeap* h, unsigned c, FreeNode* first, FreeNode* last, uint32_t n) {
  SlabMeta* s = slab_of(first);
  link_set(last, s->free);
  s->free = first;
  s->free_count += n;
  s->used -= n;
  slab_gained(h, c, s, h->clock_ms);
  return s->used == 0 ? s : nullptr;
}

// An owned slab with no live objects goes back to the pool, unless it is the
// heap's current slab (kept so a thread cycling one object does not bounce).
void heap_release_if_empty(ThreadHeap* h, unsigned c, SlabMeta* s) {
  HeapBin& bin = h->bins[c];
  if (!s || s->used != 0 || s == bin.current) return;
  heap_list_remove(bin, s);
  pool_give_empty(c, s);
}

void tcache_return(ThreadHeap* h, unsigned c, FreeNode* f) {
  while (f) {
    // Objects freed together mostly come from one slab: return each run of
    // them at once. Slabs are 64 KiB aligned, so one slab is one value of
    // the address bits above kSlabShift.
    const uintptr_t slab = reinterpret_cast<uintptr_t>(f) >> kSlabShift;
    FreeNode* last = f;
    uint32_t n = 1;
    FreeNode* next = link_next_in_class(f, c);
    while (next && reinterpret_cast<uintptr_t>(next) >> kSlabShift == slab) {
      last = next;
      next = link_next_in_class(next, c);
      ++n;
    }
    heap_release_if_empty(h, c, slab_put_local(h, c, f, last, n));
    f = next;
  }
}

// Move up to want objects from s to the thread cache.
uint32_t refill_from_slab(TcBin& b, SuperSlab* ss, SlabMeta* s, uint32_t want) {
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
  if (!s->free && s->carved == s->capacity && s->released_pages) slab_reclaim_pages(s, ss);
  if (s->free) {
    FreeNode* first = s->free;
    FreeNode* last = first;
    FreeNode* rest = link_next_in_slab(s, last);
    n = 1;
    while (n < want && rest) {
      last = rest;
      rest = link_next_in_slab(s, last);
      ++n;
    }
    s->free = rest;
    s->free_count -= n;
    link_set(last, b.head);
    b.head = first;
  } else if (s->carved < s->capacity) {
    // Carve lazily: about a page at a time, so fresh memory is touched only
    // as it is used.
    uint32_t size = ss->obj_size;
    uint32_t page_worth = size >= 4096 ? 1 : 4096 / size;
    n = s->capacity - s->carved;
    if (n > want) n = want;
    if (n > page_worth) n = page_worth;
    // New objects carry the guard word like every free object, so that
    // free() of one never handed out is caught as the double free it is.
    char* p = ss->obj_begin(s) + size_t{s->carved} * size;
    const uintptr_t guard = guard_of(s);
    for (uint32_t i = n; i-- > 0;) {
      auto* f = reinterpret_cast<FreeNode*>(p + size_t{i} * size);
      link_set(f, b.head);
      f->guard = guard;
      b.head = f;
    }
    __atomic_store_n(&s->carved, s->carved + n, __ATOMIC_RELAXED);  // read by free() in other threads
  }
  s->used += n;
  b.room -= static_cast<int32_t>(n);
  return n;
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

bool refill(ThreadHeap* h, unsigned c) {
  TcBin& b = h->tc[c];
  HeapBin& bin = h->bins[c];
  uint32_t want = b.limit / 2 ? b.limit / 2 : 1;
  uint64_t bit = uint64_t{1} << c;
  if (h->remote_classes.load(std::memory_order_relaxed) & bit) {
    h->remote_classes.fetch_and(~bit, std::memory_order_relaxed);
    collect_remote_full(h, c);
  }
  for (;;) {
    SlabMeta* s = bin.current;
    if (s) {
      SuperSlab* ss = superslab_of_slab(s);
      if (refill_from_slab(b, ss, s, want)) {
        s->idle_since_ms = h->clock_ms;  // in use: not idle
        return true;
      }
      if (slab_collect_remote(s)) continue;
      list_push_back(bin.full, s, SlabList::HeapFull);
      bin.current = nullptr;
    }
    // The slab that gained objects last is the likeliest to be resident;
    // swept slabs after the unswept ones.
    if ((s = bin.partial.last) || (s = bin.lazy.last) || (s = bin.clean.last)) {
      heap_list_remove(bin, s);
      bin.current = s;
      continue;
    }
    decommit_budget_check();  // before growing: is there idle memory to give back first?
    s = pool_acquire(c, h);
    if (!s) return false;
    bin.current = s;
  }
}

// ---------------------------------------------------------------------------
// Background decommit thread (opt-in): sleeps on a futex while nothing is
// pending, then until the next deadline.

std::atomic<uint32_t> g_bg_seq{0};
std::atomic<int> g_bg_state{0};  // 0 not started, 1 starting/running

void futex_wait(std::atomic<uint32_t>* addr, uint32_t val, uint64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, val, ms ? &ts : nullptr, nullptr, 0);
}

void* background_main(void*) {
  for (;;) {
    uint32_t seq = g_bg_seq.load(std::memory_order_acquire);
    uint64_t deadline = g_next_deadline.load(std::memory_order_relaxed);
    if (deadline == UINT64_MAX) {
      futex_wait(&g_bg_seq, seq, 0);  // nothing pending: sleep until woken
      continue;
    }
    uint64_t now = os::now_ms();
    deadline = run_due_at(deadline);
    if (now < deadline) {
      futex_wait(&g_bg_seq, seq, deadline - now);
      continue;
    }
    decommit_run(now, false);
  }
  return nullptr;
}

void background_start() {
  int expected = 0;
  if (!g_bg_state.compare_exchange_strong(expected, 1)) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t t;
  if (pthread_create(&t, &attr, background_main, nullptr) != 0) g_bg_state.store(0);
  pthread_attr_destroy(&attr);
}

void background_wake() {
  if (!g_rt.opt.decommit_thread) return;
  g_bg_seq.fetch_add(1, std::memory_order_release);
  if (g_bg_state.load(std::memory_order_relaxed) == 0) return;  // started outside locks by decommit_maybe
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_bg_seq), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

// ---------------------------------------------------------------------------
// Entry points

[[gnu::noinline]] void* small_alloc_slow(ThreadHeap* h, unsigned c) {
  if (h == &g_empty_heap) {
    h = heap_create();
    if (!h) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  decommit_maybe();
  TcBin& b = h->tc[c];
  if (!b.head) {
    OwnerLock g(h);
    if (g_rt.releases) h->clock_ms = os::now_ms_coarse();
    if (!refill(h, c)) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  FreeNode* f = b.head;
  b.head = link_next_in_class(f, c);
  b.room++;
  f->guard = 0;
  return f;
}

[[gnu::noinline]] void* small_alloc_checked(TcBin* b, FreeNode* f, FreeNode* next, unsigned c) {
  b->head = link_check_class_slow(f, next, c);
  b->room++;
  f->guard = 0;
  return f;
}

namespace {
// Empties cache bin c of h into its slabs.
void heap_return_bin(ThreadHeap* h, unsigned c) {
  TcBin& b = h->tc[c];
  FreeNode* all = b.head;
  b.head = nullptr;
  b.room = static_cast<int32_t>(b.limit);
  tcache_return(h, c, all);
}

// Objects resting in a cache bin pin their pages, and no other thread may
// take them (the bins have no locks). Every half delay the owner looks at
// its bins: one whose head has not changed since the last look has been idle
// that long and goes back to its slabs, aged from that look, so the sweep
// releases its pages about one delay after the bin went idle. Once a delay
// every bin goes back (a class in use refills once per delay, which costs
// nothing measurable). A thread that never calls again keeps what its bins
// hold: at most each class's cache limit (README: "What stays resident").
void heap_return_idle_bins(ThreadHeap* h, uint64_t now) {
  const bool all = now - h->bins_returned_ms >= g_rt.decommit.delay_ms;
  const uint64_t clock = h->clock_ms;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    FreeNode* head = h->tc[c].head;
    const bool idle = head && head == h->bin_seen[c];
    if (idle || (all && head)) {
      // The slab_gained time: no later than the last look for an idle bin.
      h->clock_ms = idle ? h->bin_seen_ms : now;
      heap_return_bin(h, c);
      head = nullptr;
    }
    h->bin_seen[c] = head;
  }
  h->clock_ms = clock;
  h->bin_seen_ms = now;
  if (all) h->bins_returned_ms = now;
}

// Ticks come every tick_every owner frees, aiming at one per eighth of a
// delay: a thread freeing slowly ticks often enough to release memory in
// time. The cap bounds how long a thread that slows down from a burst to a
// trickle waits for its first tick (kTickEveryMax = 64 frees: 0.64 s at 100
// frees/s); a busy thread pays one coarse clock read per 64 frees (the former
// fixed interval was 128 with a clock read that costs three times as much).
void adapt_tick(ThreadHeap* h, uint64_t now) {
  const uint64_t target = g_rt.decommit.delay_ms / 8 ? g_rt.decommit.delay_ms / 8 : 1;
  const uint64_t elapsed = now - h->last_tick_ms;
  h->last_tick_ms = now;
  if (elapsed < target / 2) h->tick_every = h->tick_every * 2 < kTickEveryMax ? h->tick_every * 2 : kTickEveryMax;
  else if (elapsed > target * 2) {
    uint64_t every = h->tick_every * target / elapsed;
    h->tick_every = every ? static_cast<uint32_t>(every) : 1;
  }
  tl_cache.tick = h->tick_every;
}
}  // namespace

[[gnu::noinline]] void heap_tick(ThreadHeap* h) {
  if (g_rt.decommit.mode == DecommitMode::Off) {
    tl_cache.tick = tick_interval();
    return;
  }
  uint64_t now = os::now_ms_coarse();
  adapt_tick(h, now);
  h->clock_ms = now;
  if (now - h->bin_seen_ms >= g_rt.decommit.delay_ms / 2) {
    OwnerLock g(h);
    heap_return_idle_bins(h, now);
  }
  // Over the RSS budget, idle memory goes at once, not only when the heap
  // grows: a program reusing what it has must be trimmed too (rate-limited,
  // reading RSS costs a syscall).
  if (g_rt.target_bytes && now - h->last_budget_ms >= 10) {
    h->last_budget_ms = now;
    decommit_budget_check();
  }
  // Any thread's tick releases what is due in every heap.
  decommit_maybe_at(now);
}

[[gnu::noinline]] void small_flush(ThreadHeap* h, TcBin* bin) {
  unsigned c = static_cast<unsigned>(bin - h->tc);
  TcBin& b = *bin;
  uint32_t keep = b.limit / 2;
  FreeNode* cut = b.head;
  for (uint32_t i = 1; i < keep && cut; ++i) cut = link_next_in_class(cut, c);
  FreeNode* rest;
  if (keep == 0 || !cut) {
    rest = b.head;
    b.head = nullptr;
    b.room = static_cast<int32_t>(b.limit);
  } else {
    rest = link_next_in_class(cut, c);
    link_set(cut, nullptr);
    b.room = static_cast<int32_t>(b.limit - keep);
  }
  OwnerLock g(h);
  if (g_rt.releases) h->clock_ms = os::now_ms_coarse();
  tcache_return(h, c, rest);
}

// Whether object f lies on a page of s released while the slab had live
// objects: such an object is free ("parked"), so freeing it is a double free.
bool object_parked(const SlabMeta* s, const FreeNode* f) {
  uint32_t released = __atomic_load_n(&s->released_pages, __ATOMIC_RELAXED);
  if (!released) return false;
  unsigned first, last;
  object_pages(s, object_of(s, f), &first, &last);
  return (pages_mask(first, last) & released) != 0;
}

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
  FreeNode* head = s->remote.load(std::memory_order_relaxed);
  do {
    link_set(f, head);
  } while (!s->remote.compare_exchange_weak(head, f, std::memory_order_release, std::memory_order_relaxed));
  // The first remote free into a class of a heap (or into any orphan) since
  // the last collection asks for a decommit run soon: its owner may never
  // call again, and only a run collects the objects so their pages can go.
  if (owner) {
    uint64_t bit = uint64_t{1} << c;
    if (!(owner->remote_classes.load(std::memory_order_relaxed) & bit)) {
      owner->remote_classes.fetch_or(bit, std::memory_order_relaxed);
      note_remote_frees();
    }
  } else if (!g_orphans_freed.load(std::memory_order_relaxed)) {
    g_orphans_freed.store(true, std::memory_order_relaxed);
    note_remote_frees();
  }
}

void report_bad_pointer(const void* p, const char* op) {
  os::Line l;
  l.str("hakmem: ").str(op).str(": invalid pointer ").hex(reinterpret_cast<uintptr_t>(p))
      .str(" (not the start of a block allocated by hakmem)\n");
  l.write(2);
  abort();
}

void report_double_free(const void* p, const char* op) {
  os::Line l;
  l.str("hakmem: ").str(op).str(": double free or use after free of ").hex(reinterpret_cast<uintptr_t>(p)).chr('\n');
  l.write(2);
  abort();
}

void report_corrupted_link(const FreeNode* at) {
  os::Line l;
  l.str("hakmem: corrupted free list: the link in free block ").hex(reinterpret_cast<uintptr_t>(at))
      .str(" was overwritten (use after free?)\n");
  l.write(2);
  abort();
}

FreeNode* link_check_class_slow(const FreeNode* at, FreeNode* next, unsigned c) {
  if (!next) return nullptr;
  const SlabMeta* s = slab_of(next);
  // Unused arena slots read as zeros: obj_size 0, nothing carved.
  if (!s || s->class_idx != c || s->obj_size == 0 || !object_carved(s, reinterpret_cast<uintptr_t>(next)) ||
      next->guard != s->guard)
    report_corrupted_link(at);
  return next;
}

void check_object_owner(const SlabMeta* s, const void* p, const char* op) {
  ThreadHeap* owner = s->owner.load(std::memory_order_acquire);
  if (owner == kOwnerEmpty || object_parked(s, static_cast<const FreeNode*>(p))) report_double_free(p, op);
}

void free_bad_pointer(void* p) { report_bad_pointer(p, "free()"); }
void free_double(void* p) { report_double_free(p, "free()"); }

namespace {
void heap_flush_all_locked(ThreadHeap* h, bool release_current) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    heap_return_bin(h, c);
    collect_remote_full(h, c);
    HeapBin& bin = h->bins[c];
    for (SlabMeta* s = bin.partial.first; s;) {
      SlabMeta* next = s->next;
      slab_collect_remote(s);
      heap_release_if_empty(h, c, s);
      s = next;
    }
    if (release_current && bin.current) {
      SlabMeta* s = bin.current;
      slab_collect_remote(s);
      if (s->used == 0) {
        bin.current = nullptr;
        pool_give_empty(c, s);
      }
    }
  }
}
}  // namespace

void heap_flush_all(ThreadHeap* h, bool release_current) {
  if (h == &g_empty_heap) return;
  OwnerLock g(h);
  heap_flush_all_locked(h, release_current);
}

namespace {
// At thread exit (h->lock held): empty slabs go to the pools, the others are
// orphaned. Orphans keep their sweep state (span, idle_since_ms): decommit_run
// goes on sweeping them, under the pool lock.
void heap_orphan_all_locked(ThreadHeap* h) {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    HeapBin& bin = h->bins[c];
    if (bin.current) list_push_back(bin.partial, bin.current, SlabList::HeapPartial), bin.current = nullptr;
    SlabListHead* lists[4] = {&bin.partial, &bin.full, &bin.lazy, &bin.clean};
    for (SlabListHead* l : lists) {
      while (SlabMeta* s = list_pop_back(*l)) {
        if (slab_collect_remote(s)) slab_mark_gained(s, h->clock_ms);
        if (s->used == 0) {
          pool_give_empty(c, s);
          continue;
        }
        // Live objects remain: orphan the slab. Frees reach it through its
        // remote list; the next thread needing this class adopts it.
        LockGuard g(g_pools[c].lock);
        set_owner(s, nullptr);
        list_push_back(g_pools[c].orphans, s, SlabList::PoolOrphan);
      }
    }
  }
}
}  // namespace

void heap_thread_exit(ThreadHeap* h) {
  if (!h || h == &g_empty_heap) return;
  {
    OwnerLock own(h);
    heap_flush_all_locked(h, true);
    heap_orphan_all_locked(h);
    __atomic_store_n(&h->live, false, __ATOMIC_RELAXED);  // under its lock: a sweep skips it from now on
  }
  tl_heap = &g_empty_heap;
  LockGuard g(g_heap_lock);
  h->tp = 0;
  h->next_free = g_free_heaps;
  g_free_heaps = h;
}

// ---------------------------------------------------------------------------
// Decommit mechanism

namespace {
std::atomic<int> g_decommit_busy{0};

// Orphaned slabs whose objects were all freed remotely become empty here.
void pool_sweep_orphans_locked(ClassPool& p, uint64_t now) {
  for (SlabMeta* s = p.orphans.first; s;) {
    SlabMeta* next = s->next;
    slab_collect_remote(s);
    if (s->used == 0) {
      list_remove(p.orphans, s);
      pool_add_empty_locked(p, s, now);
    }
    s = next;
  }
}

// Unmaps wholly empty SuperSlabs beyond the preset's reserve.
void pool_trim_superslabs_locked(ClassPool& p, uint32_t keep) {
  uint32_t idle = 0;
  for (SuperSlab* ss = p.superslabs; ss;) {
    SuperSlab* next = ss->next;
    if (ss->active == 0 && ++idle > keep) pool_unmap_superslab_locked(p, ss);
    ss = next;
  }
}

// ---------------------------------------------------------------------------
// The sweep of slabs that hold live objects. It reaches every slab with free
// objects: each heap's current, partial, full and swept slabs (full ones
// through their remote lists) and the orphans. It costs what is due, not
// what exists: a heap keeps its slabs with unswept free objects in the order
// they gained them, and those with pages waiting to escalate in the order
// they were swept, so each walk stops at the first slab not yet due.
//
// decommit_run
//   heap_sweep_locked              each live heap, try-locked: its owner never waits
//     heap_collect_remote_locked   a class that had remote frees: every slab's remote list
//     slab_sweep                   partial slabs due, oldest first; the current slab
//       advise_pages(DONTNEED)     pages an earlier sweep released with MADV_FREE
//       slab_release_free_pages    pages all of whose objects are free: the first stage
//     slab_sweep                   lazy slabs due: their MADV_FREE pages escalate
//   pool_sweep_orphan_pages_locked the same for orphans, under the pool lock
//   pool_decommit_locked           empty slabs
//   large::trim_cache

// Applies the policy to slab s (owned or orphaned; its owner's or the pool's
// lock held), which still has live objects. Returns its next deadline. An
// unswept slab (Committed) releases its free pages with the first stage; the
// pages an earlier sweep released with MADV_FREE go with DONTNEED then: the
// slab gained objects after that sweep and has been idle a delay since, so
// they have been idle for a delay too. A LazyFree slab's pages escalate.
uint64_t slab_sweep(SlabMeta* s, uint64_t now, bool over) {
  const DecommitConfig& cfg = g_rt.decommit;
  DecommitAction a = decide(cfg, s->span, s->idle_since_ms, now, over);
  if (a != DecommitAction::None) {
    SuperSlab* ss = superslab_of_slab(s);
    if (s->lazy_pages) {
      advise_pages(ss, s, s->lazy_pages, DecommitAction::DontNeed);
      s->lazy_pages = 0;
    }
    if (s->span == SpanState::Committed) slab_release_free_pages(ss, s, a);
    s->span = s->lazy_pages ? SpanState::LazyFree : SpanState::Released;
  }
  return next_deadline(cfg, s->span, s->idle_since_ms);
}

// Collects the remote lists of every slab of class c of h (h->lock held): a
// slab that gained objects this way is due for the sweep like any other.
void heap_collect_remote_locked(ThreadHeap* h, unsigned c, uint64_t now) {
  HeapBin& bin = h->bins[c];
  if (bin.current && slab_collect_remote(bin.current)) slab_gained(h, c, bin.current, now);
  SlabListHead* lists[4] = {&bin.full, &bin.lazy, &bin.clean, &bin.partial};
  for (SlabListHead* l : lists) {
    // Slabs that gain go to the back of partial: stop at the old back.
    SlabMeta* last = l->last;
    for (SlabMeta* s = l->first; s;) {
      SlabMeta* next = s == last ? nullptr : s->next;
      if (slab_collect_remote(s)) {
        slab_gained(h, c, s, now);
        heap_release_if_empty(h, c, s);
      }
      s = next;
    }
  }
}

// Sweeps heap h (h->lock held). Returns its next deadline.
uint64_t heap_sweep_locked(ThreadHeap* h, uint64_t now, bool over) {
  uint64_t next = UINT64_MAX;
  auto soonest = [&next](uint64_t d) { next = d < next ? d : next; };
  const uint64_t remote = h->remote_classes.load(std::memory_order_relaxed);
  for (unsigned c = 0; c < kNumClasses; ++c) {
    HeapBin& bin = h->bins[c];
    const uint64_t bit = uint64_t{1} << c;
    if (remote & bit) {
      h->remote_classes.fetch_and(~bit, std::memory_order_relaxed);
      heap_collect_remote_locked(h, c, now);
    }
    while (SlabMeta* s = bin.partial.first) {
      uint64_t d = slab_sweep(s, now, over);
      if (s->span == SpanState::Committed) {  // not due; nor is any after it
        soonest(d);
        break;
      }
      list_remove(bin.partial, s);
      if (s->span == SpanState::LazyFree) list_push_back(bin.lazy, s, SlabList::HeapLazy);
      else list_push_back(bin.clean, s, SlabList::HeapClean);
    }
    while (SlabMeta* s = bin.lazy.first) {
      uint64_t d = slab_sweep(s, now, over);
      if (s->span == SpanState::LazyFree) {
        soonest(d);
        break;
      }
      list_remove(bin.lazy, s);
      list_push_back(bin.clean, s, SlabList::HeapClean);
    }
    if (bin.current) soonest(slab_sweep(bin.current, now, over));
  }
  return next;
}

// Locks heap h for a sweep. An owner holds its lock briefly (a slow path),
// so even a forced sweep only retries for a while and then leaves the heap
// to the next run: it must never wait for an owner that may be waiting for
// this run to finish.
bool heap_lock_for_sweep(ThreadHeap* h, bool retry) {
  for (int i = 0; !h->lock.try_lock(); ++i) {
    if (!retry || i == 256) return false;
    if (i < 64) __builtin_ia32_pause();
    else sched_yield();
  }
  return true;
}

// Sweeps every live heap. Returns the next deadline.
uint64_t heaps_sweep(uint64_t now, bool over) {
  uint64_t next = UINT64_MAX;
  for (ThreadHeap* h = __atomic_load_n(&g_all_heaps, __ATOMIC_ACQUIRE); h; h = h->next_all) {
    const bool own = h == tl_heap && tl_heap_locked;
    if (!own && !heap_lock_for_sweep(h, over)) {
      uint64_t retry = now + (g_rt.decommit.delay_ms / 4 ? g_rt.decommit.delay_ms / 4 : 1);
      next = retry < next ? retry : next;
      continue;
    }
    if (__atomic_load_n(&h->live, __ATOMIC_RELAXED)) {
      uint64_t d = heap_sweep_locked(h, now, over);
      next = d < next ? d : next;
    }
    if (!own) h->lock.unlock();
  }
  return next;
}

// Orphans (p.lock held): collects their remote lists, makes the empty ones
// empty slabs and sweeps the rest. Returns the next deadline.
uint64_t pool_sweep_orphan_pages_locked(ClassPool& p, uint64_t now, bool over) {
  uint64_t next = UINT64_MAX;
  for (SlabMeta* s = p.orphans.first; s;) {
    SlabMeta* following = s->next;
    if (slab_collect_remote(s)) slab_mark_gained(s, now);
    if (s->used == 0) {
      list_remove(p.orphans, s);
      pool_add_empty_locked(p, s, now);
    } else {
      uint64_t d = slab_sweep(s, now, over);
      next = d < next ? d : next;
    }
    s = following;
  }
  return next;
}

uint64_t pool_decommit_locked(ClassPool& p, uint64_t now, bool over_budget) {
  uint64_t next = UINT64_MAX;
  for (SlabMeta* s = p.empty.first; s; s = s->next) {
    DecommitAction a = decide(g_rt.decommit, s->span, s->idle_since_ms, now, over_budget);
    if (a != DecommitAction::None) pool_release_slab_locked(s, a);
    uint64_t d = next_deadline(g_rt.decommit, s->span, s->idle_since_ms);
    if (d < next) next = d;
  }
  return next;
}
}  // namespace

void decommit_run(uint64_t now, bool force) {
  // One run at a time. A forced run waits for the one under way (which never
  // waits for a heap lock, so it finishes).
  for (int expected = 0; !g_decommit_busy.compare_exchange_weak(expected, 1, std::memory_order_acquire); expected = 0) {
    if (!force) return;
    sched_yield();
  }
  // FAST, and LEAN with HAKMEM_MEM_LEAN_DECOMMIT=OFF, never release memory,
  // but orphaned slabs whose objects were all freed become reusable in both.
  bool release = g_rt.decommit.mode != DecommitMode::Off;
  // force acts as an exceeded budget: everything idle goes with DONTNEED.
  bool over = force || (release && g_rt.target_bytes && over_budget(os::read_rss_statm(), g_rt.target_bytes));
  if (release) g_next_deadline.store(UINT64_MAX, std::memory_order_relaxed);
  // Heaps first: slabs they give back empty are then released with the pools'.
  uint64_t next = release ? heaps_sweep(now, over) : UINT64_MAX;
  g_orphans_freed.store(false, std::memory_order_relaxed);
  for (ClassPool& p : g_pools) {
    LockGuard g(p.lock);
    if (!release) {
      pool_sweep_orphans_locked(p, now);
      continue;
    }
    uint64_t d = pool_sweep_orphan_pages_locked(p, now, over);  // (g_orphans_freed cleared above)
    if (d < next) next = d;
    d = pool_decommit_locked(p, now, over);
    if (d < next) next = d;
    pool_trim_superslabs_locked(p, g_rt.preset->superslabs_kept);
  }
  if (release) {
    large::trim_cache(now, over);
    note_deadline(next);
  }
  g_last_run_ms.store(now, std::memory_order_relaxed);
  g_decommit_busy.store(0, std::memory_order_release);
}

void decommit_note_deadline(uint64_t t) {
  note_deadline(t);
  background_wake();
}

bool decommit_budget_check() {
  if (!g_rt.target_bytes || g_rt.decommit.mode == DecommitMode::Off) return false;
  if (!over_budget(os::read_rss_statm(), g_rt.target_bytes)) return false;
  decommit_run(os::now_ms(), false);
  return true;
}

void decommit_maybe_at(uint64_t now) {
  if (g_rt.decommit.mode == DecommitMode::Off) return;
  if (g_rt.opt.decommit_thread && g_bg_state.load(std::memory_order_relaxed) == 0) background_start();
  uint64_t d = g_next_deadline.load(std::memory_order_relaxed);
  if (d != UINT64_MAX && now >= run_due_at(d)) decommit_run(now, false);
}

void decommit_maybe() {
  if (g_rt.decommit.mode == DecommitMode::Off) return;
  if (g_rt.opt.decommit_thread && g_bg_state.load(std::memory_order_relaxed) == 0) background_start();
  if (g_next_deadline.load(std::memory_order_relaxed) != UINT64_MAX) decommit_maybe_at(os::now_ms_coarse());
}

void superslabs_prewarm() {
  for (unsigned c = 0; c < kNumClasses; ++c) {
    ClassPool& p = g_pools[c];
    LockGuard g(p.lock);
    if (p.superslabs) continue;
    if (SuperSlab* ss = superslab_new(c)) pool_link_superslab(p, ss);
  }
}

// ---------------------------------------------------------------------------
// fork: hold every lock across fork so the child sees consistent pools.

// Lock order: g_heap_lock, then heap locks, then pool locks (an owner or a
// sweep holding a heap lock takes a pool lock; none takes g_heap_lock).
void heap_fork_prepare() {
  g_heap_lock.lock();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all) h->lock.lock();
  for (ClassPool& p : g_pools) p.lock.lock();
}

void heap_fork_parent() {
  for (ClassPool& p : g_pools) p.lock.unlock();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all) h->lock.unlock();
  g_heap_lock.unlock();
}

void heap_fork_child() {
  // Only the forking thread lives on in the child, but glibc hands the other
  // threads' stacks, and so their thread pointers, to threads the child
  // creates. The slabs of the heaps left behind must not match one of those
  // in free()'s fast path: they keep their owner word (frees reach them
  // through their remote lists, as for any owner that never returns) and
  // lose their thread pointer. The locks taken by heap_fork_prepare are
  // still held.
  const uintptr_t me = thread_pointer();
  for (ThreadHeap* h = g_all_heaps; h; h = h->next_all)
    if (h != tl_heap) h->tp = 0;
  for (ClassPool& p : g_pools)
    for (SuperSlab* ss = p.superslabs; ss; ss = ss->next)
      for (uint32_t i = 0; i < ss->fresh_next; ++i) {
        std::atomic<uintptr_t>& tp = ss->taken(i)->owner_tp;
        if (tp.load(std::memory_order_relaxed) != me) tp.store(0, std::memory_order_relaxed);
      }
  heap_fork_parent();
  // The background thread does not exist in the child; start it on demand.
  g_bg_state.store(0);
  g_decommit_busy.store(0);
}

void heap_key_create() { pthread_key_create(&g_heap_key, heap_key_destructor); }

// ---------------------------------------------------------------------------
// Statistics

namespace {
// Bytes of the pages of slab s that hold a live object: one neither free
// (local or remote list, parked) nor in own_bin, the calling thread's cache
// bin of the class (nullptr: none). The lock of the list s is on is held.
size_t slab_live_page_bytes(const SlabMeta* s, const TcBin* own_bin) {
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
      object_pages(s, object_of(s, f), &first, &last);
      count(free_objs, first, last);
    }
  };
  count_list(s->free);
  count_list(s->remote.load(std::memory_order_acquire));
  if (own_bin)
    for (const FreeNode* f = own_bin->head; f; f = link_decode(f))
      if (slab_of(f) == s) {
        object_pages(s, object_of(s, f), &first, &last);
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
      const TcBin* own = h == tl_heap ? &h->tc[c] : nullptr;
      HeapBin& bin = h->bins[c];
      if (bin.current) bytes += slab_live_page_bytes(bin.current, own);
      for (SlabListHead* l : {&bin.partial, &bin.full, &bin.lazy, &bin.clean})
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
    for (SuperSlab* ss = p.superslabs; ss; ss = ss->next) {
      pc.superslabs++;
      st.metadata += ss->header_bytes;
      if (arena::contains(ss->base)) st.metadata += sizeof(SuperSlab) + ss->slab_count * sizeof(SlabMeta);
      for (uint32_t i = 0; i < ss->fresh_next; ++i) {
        SlabMeta* s = ss->taken(i);
        uint32_t used = __atomic_load_n(&s->used, __ATOMIC_RELAXED);
        uint32_t carved = __atomic_load_n(&s->carved, __ATOMIC_RELAXED);
        pc.live_bytes += size_t{used} * ss->obj_size;
        size_t touched = (size_t{carved} * ss->obj_size + 4095) & ~size_t{4095};
        size_t parked = static_cast<size_t>(__builtin_popcount(s->released_pages)) * os::kPageSize;
        size_t lazy_parked = static_cast<size_t>(__builtin_popcount(s->lazy_pages)) * os::kPageSize;
        if (s->list == SlabList::PoolEmpty && s->span == SpanState::LazyFree) {
          pc.lazyfree += kSlabSize;
        } else if (s->list == SlabList::PoolEmpty && s->span == SpanState::Released) {
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
    for (unsigned c = 0; c < kNumClasses; ++c)
      st.tcache_bytes += size_t{h->tc[c].limit - static_cast<uint32_t>(__atomic_load_n(&h->tc[c].room, __ATOMIC_RELAXED))} *
                         class_size(c);
  }
  st.live_bytes -= st.tcache_bytes < st.live_bytes ? st.tcache_bytes : st.live_bytes;
  return st;
}

}  // namespace hakmem
