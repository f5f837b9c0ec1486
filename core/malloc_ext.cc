// glibc's malloc extension API on hakmem's own figures, as hk_* functions:
// malloc_trim, mallinfo2, mallinfo, malloc_stats, malloc_info, mallopt. The
// override layer exports them under glibc's names, so a preloaded program
// (or a runtime calling them, e.g. Python through ctypes) reports and
// releases hakmem's memory instead of glibc's arena, which under LD_PRELOAD
// holds nothing.
//
// How glibc's terms map onto hakmem:
//   arena      the small-object slabs' committed bytes (SuperSlabs)
//   fastbins   the thread caches (smblks, fsmblks; malloc_info "fast")
//   free list  free objects in committed slabs (ordblks; "rest")
//   mmap       live large blocks (hblks, hblkhd)
//   keepcost   freed large mappings kept for reuse: what malloc_trim gives
//              back in either mode
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "core/large/large.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/size_classes.h"
#include "core/small/slow_paths.h"
#include "hakmem.h"

namespace hakmem {
namespace {

// Syscalls that give memory back; malloc_trim reports whether they moved.
uint64_t release_calls() {
  return os::g_counters.munmap_calls.load() + os::g_counters.madvise_free_calls.load() +
         os::g_counters.madvise_dontneed_calls.load();
}

struct Figures {
  SmallStats small;
  large::Stats large;
  size_t free_objects = 0;        // in committed slabs, outside thread caches
  size_t free_object_bytes = 0;   // their bytes
  size_t free_slab_bytes = 0;     // committed slab bytes not handed out nor cached (objects and leftovers)
  size_t cached_objects = 0;      // in thread caches
};

// Committed bytes of class pc not handed out nor cached: free objects on
// its slabs' lists and what is not carved yet (per-class live bytes count
// the thread caches' objects as handed out).
size_t free_in_slabs(const SmallStats::PerClass& pc) { return pc.committed > pc.live_bytes ? pc.committed - pc.live_bytes : 0; }

Figures read_figures() {
  runtime::ensure_init();
  Figures f{small_stats(), large::stats()};
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const SmallStats::PerClass& pc = f.small.per_class[c];
    size_t size = class_size(c);
    size_t in_slabs = free_in_slabs(pc);
    f.free_objects += in_slabs / size;
    f.free_object_bytes += in_slabs / size * size;
    f.free_slab_bytes += in_slabs;
    f.cached_objects += pc.tcache_bytes / size;
  }
  return f;
}

size_t fordblks(const Figures& f) { return f.free_slab_bytes + f.small.tcache_bytes; }

int saturate(size_t v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); }

// mallopt(M_TRIM_THRESHOLD): glibc trims the heap top when more than this is
// free; hakmem releases idle empty slabs at once when more than this is idle
// (LEAN's idle cap; FAST keeps slabs resident whatever it is). Negative: no
// cap, idle memory waits for the decommit delay; 0: everything idle at once.
void set_trim_threshold(int value) {
  size_t cap = value < 0 ? 0 : value == 0 ? 1 : static_cast<size_t>(value);
  __atomic_store_n(&g_rt.decommit.idle_cap_bytes, cap, __ATOMIC_RELAXED);
  // The program's own threshold holds as it is: reuse does not stretch it.
  __atomic_store_n(&g_rt.decommit.idle_cap_stretch_max, size_t{0}, __ATOMIC_RELAXED);
}

}  // namespace
}  // namespace hakmem

using namespace hakmem;

extern "C" {

// pad is the free space glibc leaves at the top of its main heap; hakmem has
// no heap top, and glibc itself releases the free pages inside its arenas
// whatever pad is. Releases everything idle now (hakmem_collect(1)) and, in
// both modes, the freed large mappings kept for reuse. Returns 1 if any
// memory went back to the kernel.
int hk_malloc_trim(size_t pad) {
  (void)pad;
  runtime::ensure_init();
  uint64_t before = release_calls();
  hakmem_collect(1);
  large::trim_cache(os::now_ms(), true);
  return release_calls() > before ? 1 : 0;
}

struct mallinfo2 hk_mallinfo2(void) {
  Figures f = read_figures();
  struct mallinfo2 m = {};
  m.arena = f.small.committed;
  m.ordblks = f.free_objects;
  m.smblks = f.cached_objects;
  m.hblks = f.large.live_count;
  m.hblkhd = f.large.live_bytes;
  m.usmblks = 0;  // unused, as in glibc
  m.fsmblks = f.small.tcache_bytes;
  m.uordblks = f.small.live_bytes;
  m.fordblks = fordblks(f);
  m.keepcost = f.large.cache_bytes;
  return m;
}

struct mallinfo hk_mallinfo(void) {
  struct mallinfo2 w = hk_mallinfo2();
  struct mallinfo m = {};
  m.arena = saturate(w.arena);
  m.ordblks = saturate(w.ordblks);
  m.smblks = saturate(w.smblks);
  m.hblks = saturate(w.hblks);
  m.hblkhd = saturate(w.hblkhd);
  m.usmblks = saturate(w.usmblks);
  m.fsmblks = saturate(w.fsmblks);
  m.uordblks = saturate(w.uordblks);
  m.fordblks = saturate(w.fordblks);
  m.keepcost = saturate(w.keepcost);
  return m;
}

// glibc's layout: one arena (hakmem's small-object heap), then the totals
// with the large mappings. glibc's "max mmap" lines are high-water marks,
// which hakmem does not keep: these lines give the current figures.
void hk_malloc_stats(void) {
  Figures f = read_figures();
  size_t system = f.small.committed + f.large.live_bytes + f.large.cache_bytes;
  size_t in_use = f.small.live_bytes + f.large.live_bytes;
  fprintf(stderr, "Arena 0:\n");
  fprintf(stderr, "system bytes     = %10zu\n", f.small.committed);
  fprintf(stderr, "in use bytes     = %10zu\n", f.small.live_bytes);
  fprintf(stderr, "Total (incl. mmap):\n");
  fprintf(stderr, "system bytes     = %10zu\n", system);
  fprintf(stderr, "in use bytes     = %10zu\n", in_use);
  fprintf(stderr, "mmap regions     = %10zu\n", f.large.live_count);
  fprintf(stderr, "mmap bytes       = %10zu\n", f.large.live_bytes);
}

// glibc's XML, with one <size> per size class holding free objects. hakmem
// keeps no high-water marks, so <system type="max"> is left out.
int hk_malloc_info(int options, FILE* fp) {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  Figures f = read_figures();
  size_t mapped = f.small.ss_bytes;
  fprintf(fp, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  size_t from = 1;
  for (unsigned c = 0; c < kNumClasses; ++c) {
    const SmallStats::PerClass& pc = f.small.per_class[c];
    size_t size = class_size(c);
    size_t in_slabs = free_in_slabs(pc);
    if (size_t n = in_slabs / size)
      fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", from, size, n * size, n);
    from = size + 1;
  }
  fprintf(fp, "</sizes>\n");
  fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", f.cached_objects, f.small.tcache_bytes);
  fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", f.free_objects, f.free_object_bytes);
  fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n", f.small.committed);
  fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", mapped);
  fprintf(fp, "<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.small.committed);
  fprintf(fp, "</heap>\n");
  fprintf(fp, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", f.cached_objects, f.small.tcache_bytes);
  fprintf(fp, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", f.free_objects, f.free_object_bytes);
  fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", f.large.live_count, f.large.live_bytes);
  fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n",
          f.small.committed + f.large.live_bytes + f.large.cache_bytes);
  fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n", mapped + f.large.live_bytes + f.large.cache_bytes);
  fprintf(fp, "<aspace type=\"mprotect\" size=\"%zu\"/>\n",
          f.small.committed + f.large.live_bytes + f.large.cache_bytes);
  fprintf(fp, "</malloc>\n");
  return 0;
}

// Every parameter glibc documents is accepted with the values glibc accepts
// (returns 1); only M_TRIM_THRESHOLD has a meaning in hakmem. The others
// tune parts hakmem does not have (fastbins, arenas, sbrk padding, its own
// mmap threshold: blocks above 32 KiB are always mapped) or ask for checks
// hakmem always makes (M_CHECK_ACTION: a bad pointer always aborts).
// Unknown parameters and out-of-range values return 0.
int hk_mallopt(int param, int value) {
  runtime::ensure_init();
  switch (param) {
    case M_TRIM_THRESHOLD:
      set_trim_threshold(value);
      return 1;
    case M_MXFAST:
      return value >= 0 && static_cast<size_t>(value) <= 80 * sizeof(size_t) / 4;
    case M_MMAP_THRESHOLD:
      return value >= 0 && static_cast<size_t>(value) <= 4 * 1024 * 1024 * sizeof(long);
    case M_ARENA_MAX:
    case M_ARENA_TEST:
    case M_TOP_PAD:
    case M_MMAP_MAX:
      return value >= 0;
    case M_CHECK_ACTION:
    case M_PERTURB:
      return 1;
    default:
      return 0;
  }
}

}  // extern "C"
