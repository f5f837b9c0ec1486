// hakmem_stats() and HAKMEM_STATS=1: the figures of every part (small
// objects, large blocks, platform counters, the kernel's) in one struct, and
// the options as used and an RSS breakdown printed at exit.
//
// A new figure: a field in include/hakmem.h, where it is computed
// (SmallStats, large::Stats or os::), one line in hakmem_stats, one row below.
#include "core/budget_account.h"
#include "core/large/large.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "core/small/arena.h"
#include "core/small/slow_paths.h"
#include "core/small/thread_heap.h"
#include "hakmem.h"

using hakmem::os::Line;

namespace {
void row(int fd, const char* name, uint64_t bytes) {
  Line l;
  l.str("hakmem:   ").str(name).str(" ").kib(bytes).chr('\n');
  l.write(fd);
}
void count(int fd, const char* name, uint64_t n) {
  Line l;
  l.str("hakmem:   ").str(name).str(" ").num(n).chr('\n');
  l.write(fd);
}
}  // namespace

using namespace hakmem;

extern "C" {

// HAKMEM_STATS=1: the report at exit (in the core, so that programs
// linking the static core get it too).
__attribute__((destructor)) static void hakmem_exit_stats() {
  if (g_rt.init_state.load() != InitState::Ready || !g_rt.opt.stats) return;
  if (!g_rt.opt.stats_path[0]) return hakmem_print_stats(2);
  int fd = os::open_append(g_rt.opt.stats_path);
  if (fd < 0) {
    os::Line l;
    l.str("hakmem: HAKMEM_STATS: cannot open ").str(g_rt.opt.stats_path).str(" for the report\n");
    os::warn(l);
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
  out->committed_bytes = budget::committed();
  out->limit_failures = budget::g_account.limit_failures.load();
  out->budget_forced_releases = budget::g_account.forced_releases.load();
  out->budget_quiet_releases = budget::g_account.quiet_releases.load();
  return 0;
}


void hakmem_print_stats(int fd) {
  hakmem_stats_t s;
  hakmem_stats(&s);
  Line v;
  v.str("hakmem: version ").str(hakmem_version_string()).chr('\n');
  v.write(fd);
  hakmem::print_options(hakmem::g_rt.opt, fd);
  Line h;
  h.str("hakmem: RSS breakdown (kernel figures from /proc/self/smaps_rollup)\n");
  h.write(fd);
  row(fd, "rss", s.rss);
  row(fd, "lazyfree", s.lazyfree);
  row(fd, "rss_minus_lazyfree", s.rss - (s.lazyfree < s.rss ? s.lazyfree : s.rss));
  row(fd, "anon_huge_pages", s.anon_huge);
  row(fd, "live_small_objects", s.live_small_bytes);
  // RSS - LazyFree cannot go below this (plus the program's own memory).
  row(fd, "live_object_pages", s.live_object_page_bytes);
  row(fd, "thread_caches", s.thread_cache_bytes);
  row(fd, "live_large", s.live_large_bytes);
  row(fd, "large_cache", s.large_cache_bytes);
  count(fd, "superslabs_mapped", s.superslabs_mapped);
  count(fd, "superslabs_in_reservation", s.arena_superslabs);
  row(fd, "reservation_virtual", s.arena_bytes);
  row(fd, "superslab_virtual", s.superslab_bytes_mapped);
  row(fd, "slabs_committed", s.slab_bytes_committed);
  row(fd, "slabs_lazyfree", s.slab_bytes_lazyfree);
  row(fd, "slabs_dontneed", s.slab_bytes_dontneed);
  row(fd, "metadata", s.metadata_bytes);
  // File-backed pages (program text, libraries) are not the allocator's;
  // anonymous memory minus what the allocator holds is the program's own
  // (stacks, static data) or unaccounted.
  size_t ours = s.slab_bytes_committed + s.live_large_bytes + s.large_cache_bytes + s.metadata_bytes;
  size_t anon = s.anonymous - (s.lazyfree < s.anonymous ? s.lazyfree : s.anonymous);
  row(fd, "file_backed", s.rss > s.anonymous ? s.rss - s.anonymous : 0);
  row(fd, "anonymous_minus_lazyfree", anon);
  row(fd, "allocator_committed", ours);
  row(fd, "anonymous_outside_allocator", anon > ours ? anon - ours : 0);
  // Of that, the main thread's stack is the program's; the rest (static data,
  // thread stacks, the program's own mmaps) is what no figure here explains.
  row(fd, "main_stack", s.main_stack);
  size_t known = ours + s.main_stack;
  size_t unaccounted = anon > known ? anon - known : 0;
  Line u;
  u.str("hakmem:   unaccounted ").kib(unaccounted).str(" (").num(s.rss ? unaccounted * 100 / s.rss : 0).str("% of rss)\n");
  u.write(fd);
  Line ch;
  ch.str("hakmem: per class: size superslabs handed_out(incl. caches) committed lazyfree dontneed (KiB)\n");
  ch.write(fd);
  hakmem::SmallStats small = hakmem::small_stats();
  for (unsigned c = 0; c < hakmem::kNumClasses; ++c) {
    const auto& pc = small.per_class[c];
    if (!pc.superslabs) continue;
    Line l;
    l.str("hakmem:   ").num(hakmem::class_size(c)).chr(' ').num(pc.superslabs).chr(' ').num(pc.live_bytes / 1024)
        .chr(' ').num(pc.committed / 1024).chr(' ').num(pc.lazyfree / 1024).chr(' ').num(pc.dontneed / 1024).chr('\n');
    l.write(fd);
  }
  row(fd, "committed_account", s.committed_bytes);
  count(fd, "limit_failures", s.limit_failures);
  count(fd, "budget_forced_releases", s.budget_forced_releases);
  count(fd, "budget_quiet_releases", s.budget_quiet_releases);
  count(fd, "mmap_calls", s.mmap_calls);
  count(fd, "munmap_calls", s.munmap_calls);
  count(fd, "madvise_free_calls", s.madvise_free_calls);
  count(fd, "madvise_dontneed_calls", s.madvise_dontneed_calls);
}

}  // extern "C"
