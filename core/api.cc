// The prefixed API (hk_*): glibc-compatible semantics and errno on top of the
// small-object heaps and the large allocator. The override layer forwards the
// malloc family here.
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <cstring>

#include "core/heap.h"
#include "core/large.h"
#include "core/lock.h"
#include "core/platform.h"
#include "hakmem.h"

extern char** environ;

namespace hakmem {

Runtime g_rt;

namespace {

SpinLock g_init_lock;

uintptr_t make_guard_key() {
  return os::random_u64() | 1;  // never zero: zero marks an allocated object
}

// The keys of the free-list link encoding (core/free_link.h).
void make_link_keys() {
  g_rt.link_key = os::random_u64();
  g_rt.link_mul = os::random_u64() | 1;
  g_rt.link_mul_inv = odd_inverse(g_rt.link_mul);
}

void fork_prepare() {
  g_init_lock.lock();
  heap_fork_prepare();
  large::fork_prepare();
}
void fork_parent() {
  large::fork_parent();
  heap_fork_parent();
  g_init_lock.unlock();
}
void fork_child() {
  large::fork_child();
  heap_fork_child();
  g_init_lock.unlock();
}

[[gnu::noinline]] void* alloc_large(size_t n, size_t align, bool zero) {
  runtime::ensure_init();
  decommit_budget_check();
  bool fresh;
  void* p = large::alloc(n, align, &fresh);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  if (zero && !fresh) std::memset(p, 0, n);
  return p;
}

[[gnu::always_inline]] inline void* alloc(size_t n) {
  // The finely spaced sizes first: one compare and a table load.
  if (__builtin_expect(n <= kLookupMax, 1)) return small_alloc_at(tc_offset_lookup(n));
  if (__builtin_expect(n <= kMaxSmallSize, 1)) return small_alloc(size_to_class(n));
  return alloc_large(n, 0, false);
}

// Alignment is a power of two.
void* alloc_aligned(size_t align, size_t n) {
  if (align <= 16) return alloc(n);
  if (align <= os::kPageSize && n <= kMaxSmallSize) {
    // Objects sit at multiples of their class size from page-aligned slab
    // starts: a class whose size is a multiple of align gives aligned objects.
    for (unsigned c = size_to_class(n > align ? n : align); c < kNumClasses; ++c)
      if (class_size(c) % align == 0) return small_alloc(c);
  }
  return alloc_large(n, align, false);
}

// free() of anything but an arena SuperSlab's object: NULL, a SuperSlab
// mapped on its own, a large block, or a bad pointer.
[[gnu::noinline]] void free_outside_arena(void* p) {
  if (!p) return;
  if (SlabMeta* s = slab_of(p)) return small_free(s, p);
  if (large::free(p)) return;
  os::Line l;
  l.str("hakmem: free(): invalid pointer or double free of ").hex(reinterpret_cast<uintptr_t>(p))
      .str(" (not a live block allocated by hakmem)\n");
  l.write(2);
  abort();
}

bool mul_overflows(size_t a, size_t b, size_t* out) { return __builtin_mul_overflow(a, b, out); }

// Usable size of a pointer hakmem handed out; aborts on a foreign pointer.
size_t usable_or_die(const void* p, const char* op) {
  if (SlabMeta* s = slab_of(p)) {
    check_object(s, p, op);
    return s->obj_size;
  }
  size_t n = large::usable_size(p);
  if (!n) report_bad_pointer(p, op);
  return n;
}

}  // namespace

namespace runtime {
// The thread running init_slow: allocations it makes while initialising
// (pthread_atfork may allocate) proceed, since g_rt is filled in by then.
__thread bool tl_initializing __attribute__((tls_model("initial-exec")));

void init_slow() {
  if (tl_initializing) return;
  LockGuard g(g_init_lock);
  if (g_rt.state.load(std::memory_order_relaxed) == 2) return;
  tl_initializing = true;
  Options o = parse_options(environ, 2, os::secure_execution());
  g_rt.opt = o;
  g_rt.preset = o.lean ? &kLeanPreset : &kFastPreset;
  g_rt.ss_size = o.ss_size;
  g_rt.ss_mask = ~(uintptr_t{o.ss_size} - 1);
  g_rt.decommit = DecommitConfig{o.decommit, o.decommit_delay_ms, o.decommit_delay_ms, g_rt.preset->idle_cap_bytes};
  g_rt.releases = o.decommit != DecommitMode::Off;
  g_rt.target_bytes = static_cast<size_t>(o.target_mb) << 20;
  // In a memory-limited container idle memory must go before the limit is
  // reached, not after the delay: unless set, the budget is 3/4 of the limit.
  if (o.lean && o.target_auto) g_rt.target_bytes = os::cgroup_memory_limit() / 4 * 3;
  g_rt.guard_key = make_guard_key();
  make_link_keys();
  g_tc_tp_off = reinterpret_cast<intptr_t>(tl_cache.bins) - static_cast<intptr_t>(thread_pointer());
  arena::init(o.arena_size, o.ss_size);
  heap_key_create();
  // Fork handlers go in before any other thread can use the pools, so a
  // fork can never copy a pool lock held by another thread.
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (g_rt.preset->prewarm) superslabs_prewarm();
  tl_initializing = false;
  g_rt.state.store(2, std::memory_order_release);
}
}  // namespace runtime

}  // namespace hakmem

using namespace hakmem;

extern "C" {

// The hottest entry points start on a cache line: measured on this machine,
// random-mixed runs ~2.5% faster than with the default 16-byte alignment.
#define HK_HOT __attribute__((aligned(64)))

HK_HOT void* hk_malloc(size_t n) { return alloc(n); }

HK_HOT void hk_free(void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (__builtin_expect(arena::contains(a), 1)) return small_free(arena::slab_of(a), p);
  free_outside_arena(p);
}

HK_HOT void* hk_calloc(size_t count, size_t size) {
  size_t n;
  if (mul_overflows(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (n <= kMaxSmallSize) {
    void* p = small_alloc(size_to_class(n));
    if (p) std::memset(p, 0, n);
    return p;
  }
  return alloc_large(n, 0, true);
}

void* hk_realloc(void* p, size_t n) {
  if (!p) return alloc(n);
  if (n == 0) {
    hk_free(p);
    return nullptr;
  }
  size_t old = usable_or_die(p, "realloc()");
  if (old <= kMaxSmallSize) {
    // Same class, or shrinking by less than half: keep the block.
    if (n <= old && (n > old / 2 || old <= 16)) return p;
  } else if (n > kMaxSmallSize) {
    if (void* q = large::resize(p, n)) return q;
  }
  void* q = alloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, old < n ? old : n);
  hk_free(p);
  return q;
}

void* hk_reallocarray(void* p, size_t count, size_t size) {
  size_t n;
  if (mul_overflows(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return hk_realloc(p, n);
}

void* hk_memalign(size_t align, size_t n) {
  if (align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  // glibc rounds an alignment that is not a power of two up to one.
  if (align & (align - 1)) align = size_t{1} << (64 - __builtin_clzll(align));
  return alloc_aligned(align, n);
}

int hk_posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) || align > (SIZE_MAX >> 1) + 1) return EINVAL;
  void* p = alloc_aligned(align, n);
  if (!p) {
    errno = ENOMEM;  // as glibc does (EINVAL above leaves errno alone, as there)
    return ENOMEM;
  }
  *out = p;
  return 0;
}

void* hk_aligned_alloc(size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) || align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  return alloc_aligned(align, n);
}

void* hk_valloc(size_t n) { return alloc_aligned(os::kPageSize, n); }

void* hk_pvalloc(size_t n) {
  size_t r = (n + os::kPageSize - 1) & ~(os::kPageSize - 1);
  if (r < n) {
    errno = ENOMEM;
    return nullptr;
  }
  return alloc_aligned(os::kPageSize, r ? r : os::kPageSize);
}

size_t hk_malloc_usable_size(const void* p) { return p ? usable_or_die(p, "malloc_usable_size()") : 0; }

void hakmem_collect(int force) {
  runtime::ensure_init();
  heap_flush_all(tl_heap, true);
  decommit_run(os::now_ms(), force != 0);
}

// HAKMEM_STATS=1: the report at exit. Here rather than in stats.cc so that
// programs linking the static core get it too.
__attribute__((destructor)) static void hakmem_exit_stats() {
  if (g_rt.state.load() != 2 || !g_rt.opt.stats) return;
  if (!g_rt.opt.stats_path[0]) return hakmem_print_stats(2);
  int fd = os::open_append(g_rt.opt.stats_path);
  if (fd < 0) {
    os::Line l;
    l.str("hakmem: HAKMEM_STATS: cannot open ").str(g_rt.opt.stats_path).str(" for the report\n");
    l.write(2);
    return;
  }
  hakmem_print_stats(fd);
  os::close_fd(fd);
}

int hakmem_stats(hakmem_stats_t* out) {
  runtime::ensure_init();
  SmallStats s = small_stats();
  large::Stats l = large::stats();
  os::MemInfo m = os::read_smaps_rollup();
  *out = hakmem_stats_t{};
  out->lean = g_rt.opt.lean;
  out->superslab_size = g_rt.ss_size;
  out->rss = m.rss;
  out->lazyfree = m.lazyfree;
  out->anon_huge = m.anon_huge;
  out->anonymous = m.anonymous;
  out->live_small_bytes = s.live_bytes;
  out->thread_cache_bytes = s.tcache_bytes;
  out->live_large_bytes = l.live_bytes;
  out->large_cache_bytes = l.cache_bytes;
  out->superslabs_mapped = s.superslabs;
  out->superslab_bytes_mapped = s.ss_bytes;
  out->slab_bytes_committed = s.committed;
  out->slab_bytes_lazyfree = s.lazyfree;
  out->slab_bytes_dontneed = s.dontneed;
  out->metadata_bytes = s.metadata + l.table_bytes;
  out->mmap_calls = os::g_counters.mmap_calls.load();
  out->munmap_calls = os::g_counters.munmap_calls.load();
  out->madvise_free_calls = os::g_counters.madvise_free_calls.load();
  out->madvise_dontneed_calls = os::g_counters.madvise_dontneed_calls.load();
  out->arena_bytes = g_rt.arena_size;
  out->arena_superslabs = arena::slots_in_use();
  out->main_stack = os::read_stack_rss();
  out->live_object_page_bytes = s.live_pages + l.live_bytes;
  return 0;
}

}  // extern "C"

#if HAKMEM_OVERRIDE
#include "core/override_c.inc"
#endif
