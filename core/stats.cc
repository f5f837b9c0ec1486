// HAKMEM_STATS=1: options as used and an RSS breakdown at exit.
#include "core/heap.h"
#include "core/platform.h"
#include "core/runtime.h"
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

extern "C" void hakmem_print_stats(int fd) {
  hakmem_stats_t s;
  hakmem_stats(&s);
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
  count(fd, "mmap_calls", s.mmap_calls);
  count(fd, "munmap_calls", s.munmap_calls);
  count(fd, "madvise_free_calls", s.madvise_free_calls);
  count(fd, "madvise_dontneed_calls", s.madvise_dontneed_calls);
}
