// pressure: a program whose second phase needs the memory its first phase freed.
// Phase 1 allocates --phase1-mb MiB of blocks of min-size + (size-step * i mod size-mod)
// bytes (16..1024 B by default), each written in full, and frees all but every
// --keep-every-th. Phase 2 allocates as many blocks as phase 1 did, of
// (phase2-base + (phase2-step * i mod phase2-mod)) / phase2-div bytes (512..1023 B by
// default), each written in full, and keeps them all. What counts is the peak: an
// allocator that releases phase 1's free pages before committing new ones peaks near the
// live data (phase 2 plus the survivors); one that does not peaks near the sum.
//
// Reports peak_rss_kb (VmHWM: the peak as the kernel and a memory cgroup count it, lazily
// freed pages included), the peak of RSS - LazyFree sampled through phase 2, the footprint
// after phase 1's frees and at the end, live_kb (the bytes the program holds at the end,
// as requested) and the minor faults of each phase.
#include <cstdio>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t phase1_mb = 36;
  uint64_t min_size = 16;
  uint64_t size_step = 37;
  uint64_t size_mod = 1009;
  uint64_t keep_every = 64;
  uint64_t phase2_base = 2048;
  uint64_t phase2_step = 13;
  uint64_t phase2_mod = 2048;
  uint64_t phase2_div = 4;
};

uint64_t phase1_size(const Config& c, uint64_t i) { return c.min_size + (c.size_step * i) % c.size_mod; }
uint64_t phase2_size(const Config& c, uint64_t i) {
  return (c.phase2_base + (c.phase2_step * i) % c.phase2_mod) / c.phase2_div;
}
uint8_t tag_of(uint64_t i, uint64_t phase) { return static_cast<uint8_t>((i * 131 + phase) | 1); }

bool intact(const void* p, uint64_t size, uint8_t tag) {
  auto* b = static_cast<const uint8_t*>(p);
  return b[0] == tag && b[size / 2] == tag && b[size - 1] == tag;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  Options options("cmp_pressure",
                  "pressure: phase 1 allocates --phase1-mb MiB of blocks of min-size + (size-step * i mod\n"
                  "size-mod) bytes, frees all but every --keep-every-th; phase 2 allocates as many blocks of\n"
                  "(phase2-base + (phase2-step * i mod phase2-mod)) / phase2-div bytes and keeps them. Every\n"
                  "block is written in full. Reports peak_rss_kb (VmHWM), peak_rss_minus_lazyfree_kb, live_kb.");
  options.add_u64("phase1-mb", &c.phase1_mb, "MiB requested in phase 1");
  options.add_u64("min-size", &c.min_size, "phase 1 block i: min-size + (size-step * i mod size-mod) bytes");
  options.add_u64("size-step", &c.size_step, "see min-size");
  options.add_u64("size-mod", &c.size_mod, "see min-size");
  options.add_u64("keep-every", &c.keep_every, "keep every N-th phase-1 block (0: free all)");
  options.add_u64("phase2-base", &c.phase2_base, "phase 2 block i: (base + (step * i mod mod)) / div bytes");
  options.add_u64("phase2-step", &c.phase2_step, "see phase2-base");
  options.add_u64("phase2-mod", &c.phase2_mod, "see phase2-base");
  options.add_u64("phase2-div", &c.phase2_div, "see phase2-base");
  options.parse(argc, argv);
  if (!c.phase1_mb || !c.size_mod || !c.phase2_mod || !c.phase2_div) die("phase1-mb, size-mod, phase2-mod, phase2-div must be > 0");
  if (c.min_size == 0 || phase2_size(c, 0) == 0) die("block sizes must be > 0");

  uint64_t count = 0;
  for (uint64_t total = 0; total < (c.phase1_mb << 20); ++count) total += phase1_size(c, count);
  MappedArray<void*> first(count);
  MappedArray<void*> second(count);
  const MemSnapshot before = read_mem();
  const Faults f0 = read_faults();

  double start = now_secs();
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t n = phase1_size(c, i);
    first[i] = checked_malloc(n);
    memset(first[i], tag_of(i, 1), n);
  }
  const MemSnapshot after_phase1 = read_mem();
  uint64_t kept = 0, live = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t n = phase1_size(c, i);
    if (!intact(first[i], n, tag_of(i, 1))) die("phase 1 block %llu corrupted", (unsigned long long)i);
    if (c.keep_every && i % c.keep_every == 0) {
      ++kept, live += n;
      continue;
    }
    free(first[i]);
    first[i] = nullptr;
  }
  const double phase1_secs = now_secs() - start;
  const MemSnapshot after_free = read_mem();
  const Faults f1 = read_faults();

  // RSS - LazyFree through phase 2: sampled 64 times (each sample reads smaps_rollup).
  const uint64_t every = count / 64 ? count / 64 : 1;
  uint64_t peak_net = after_free.rss_minus_lazyfree_kb();
  start = now_secs();
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t n = phase2_size(c, i);
    second[i] = checked_malloc(n);
    memset(second[i], tag_of(i, 2), n);
    live += n;
    if (i % every == every - 1) {
      const uint64_t net = read_mem().rss_minus_lazyfree_kb();
      if (net > peak_net) peak_net = net;
    }
  }
  const double phase2_secs = now_secs() - start;
  const MemSnapshot end = read_mem();
  if (end.rss_minus_lazyfree_kb() > peak_net) peak_net = end.rss_minus_lazyfree_kb();
  const Faults f2 = read_faults();
  for (uint64_t i = 0; i < count; ++i)
    if (!intact(second[i], phase2_size(c, i), tag_of(i, 2))) die("phase 2 block %llu corrupted", (unsigned long long)i);
  for (uint64_t i = 0; i < count; ++i)
    if (first[i] && !intact(first[i], phase1_size(c, i), tag_of(i, 1))) die("survivor %llu corrupted", (unsigned long long)i);

  Result result("pressure");
  result.u64("blocks", count).u64("kept", kept).u64("live_kb", live / 1024);
  result.f64("phase1_secs", phase1_secs).f64("phase2_secs", phase2_secs);
  result.u64("phase1_minflt", f1.minor - f0.minor).u64("phase2_minflt", f2.minor - f1.minor);
  result.mem("before", before).mem("after_phase1", after_phase1).mem("after_free", after_free);
  result.u64("peak_rss_minus_lazyfree_kb", peak_net);
  // Above what the program holds (and what it started with): the allocator's overhead at the end.
  const uint64_t base = before.rss_minus_lazyfree_kb() + live / 1024;
  result.u64("over_live_rss_minus_lazyfree_kb", end.rss_minus_lazyfree_kb() > base ? end.rss_minus_lazyfree_kb() - base : 0);
  result.emit(3 * count - kept, phase1_secs + phase2_secs, end);
  for (uint64_t i = 0; i < count; ++i) free(second[i]);
  for (uint64_t i = 0; i < count; ++i) free(first[i]);
  return 0;
}
