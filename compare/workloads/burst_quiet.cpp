// burst-quiet: a service whose burst is over and which now uses one size class, or none.
// Allocate --objects blocks of min-size + (size-step * i mod size-mod) bytes, write each
// in full, free all but every --keep-every-th (i % keep-every == 0 survives), then idle
// for --idle-secs: with --idle one, free(malloc(--idle-size)) every --tick-ms (one class
// stays active); with --idle none, no allocator call at all. Unlike burst-idle, the idle
// loop does not refill every class: the classes the burst used go quiet, which is the
// case an allocator that releases memory only on activity in the same class misses.
//
// Reports RSS and RSS - LazyFree at the phases (before, at_peak, after_free, after_idle,
// and at 1 s and 2 s into the idle period), minor faults per phase, and the floor: the
// bytes of the 4 KiB pages that hold a surviving block (computed from the survivors'
// addresses, so it is the same notion for every allocator). With --csv the whole
// timeline (burst, free, idle) goes to a CSV file for the runner's plot.
//
// Under hakmem (found with dlsym, so the workload still links libc only) it also
// reports hakmem's own figures at the end of the idle period, survivors alive:
// hakmem_floor_kb (live_object_page_bytes, the floor HAKMEM_STATS prints),
// hakmem_committed_kb, hakmem_lazyfree_kb, hakmem_thread_cache_kb and
// hakmem_metadata_kb; --hakmem-stats 1 prints hakmem's whole breakdown to stderr
// there.
#include <dlfcn.h>
#include <fcntl.h>
#include <hakmem.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t objects = 125000;
  uint64_t min_size = 16;
  uint64_t size_step = 37;
  uint64_t size_mod = 1009;
  uint64_t keep_every = 64;
  double idle_secs = 3;
  uint64_t idle_size = 64;
  double tick_ms = 10;
  double sample_ms = 50;
  const char* idle = "one";
  const char* csv = nullptr;
  uint64_t hakmem_stats = 0;
};

uint64_t block_size(const Config& c, uint64_t i) { return c.min_size + (c.size_step * i) % c.size_mod; }

// The timeline: one CSV row per sample, phase named.
class Timeline {
 public:
  explicit Timeline(const char* path) : start_(now_secs()) {
    if (!path || !*path) return;
    fd_ = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) die("cannot write %s: %s", path, strerror(errno));
    text("t_sec,phase,rss_kb,rss_minus_lazyfree_kb,lazyfree_kb,minflt\n");
  }
  ~Timeline() {
    if (fd_ >= 0) close(fd_);
  }
  MemSnapshot sample(const char* phase) {
    const MemSnapshot m = read_mem();
    if (fd_ >= 0) {
      char line[160];
      snprintf(line, sizeof line, "%.3f,%s,%llu,%llu,%llu,%llu\n", now_secs() - start_, phase, ull(m.rss_kb),
               ull(m.rss_minus_lazyfree_kb()), ull(m.lazyfree_kb), ull(read_faults().minor));
      text(line);
    }
    return m;
  }

 private:
  int fd_ = -1;
  double start_;
  static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }
  void text(const char* s) {
    if (write(fd_, s, strlen(s)) < 0) die("write to the CSV failed: %s", strerror(errno));
  }
};

// Distinct 4 KiB pages touched by the survivors: an open-addressing set in its own
// mapping (no allocator call). Returns the page count.
uint64_t live_pages(void* const* blocks, const uint64_t* sizes, uint64_t count) {
  uint64_t slots = 1;
  while (slots < 4 * count + 16) slots <<= 1;
  MappedArray<uint64_t> set(slots);  // page number + 1; 0 = empty
  uint64_t pages = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(blocks[i]);
    for (uint64_t pg = a / kPage; pg <= (a + sizes[i] - 1) / kPage; ++pg) {
      uint64_t h = (pg * 0x9E3779B97F4A7C15ull) & (slots - 1);
      while (set[h] && set[h] != pg + 1) h = (h + 1) & (slots - 1);
      if (!set[h]) set[h] = pg + 1, ++pages;
    }
  }
  return pages;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_burst_quiet",
                  "burst-quiet: allocate --objects blocks of min-size + (size-step * i mod size-mod) bytes,\n"
                  "each written in full, free all but every --keep-every-th, then idle --idle-secs: '--idle one'\n"
                  "does free(malloc(--idle-size)) every --tick-ms, '--idle none' makes no allocator call.\n"
                  "Reports <phase>_rss_kb / <phase>_rss_minus_lazyfree_kb, the faults of each phase and\n"
                  "floor_kb (the 4 KiB pages holding a survivor); --csv writes the timeline.");
  options.add_u64("objects", &config.objects, "blocks in the burst");
  options.add_u64("min-size", &config.min_size, "size of block i: min-size + (size-step * i mod size-mod)");
  options.add_u64("size-step", &config.size_step, "see min-size");
  options.add_u64("size-mod", &config.size_mod, "see min-size (1: every block is min-size)");
  options.add_u64("keep-every", &config.keep_every, "keep every N-th block alive (0: free all)");
  options.add_f64("idle-secs", &config.idle_secs, "idle period in seconds");
  options.add_str("idle", &config.idle, "one (free(malloc(idle-size)) every tick) or none (no allocator calls)");
  options.add_u64("idle-size", &config.idle_size, "block size of the idle loop");
  options.add_f64("tick-ms", &config.tick_ms, "milliseconds between idle ticks");
  options.add_f64("sample-ms", &config.sample_ms, "milliseconds between timeline samples while idle");
  options.add_str("csv", &config.csv, "timeline CSV (t_sec,phase,rss_kb,rss_minus_lazyfree_kb,lazyfree_kb,minflt)");
  options.add_u64("hakmem-stats", &config.hakmem_stats, "1: under hakmem, print its statistics to stderr after idle");
  options.parse(argc, argv);
  const bool idle_one = strcmp(config.idle, "one") == 0;
  if (!idle_one && strcmp(config.idle, "none") != 0) die("--idle must be one or none, not %s", config.idle);
  if (config.objects == 0 || config.size_mod == 0 || config.min_size == 0) die("need objects, min-size, size-mod > 0");
  if (config.tick_ms <= 0 || config.sample_ms <= 0) die("--tick-ms and --sample-ms must be > 0");

  MappedArray<void*> blocks(config.objects);
  MappedArray<uint64_t> sizes(config.objects);
  Timeline timeline(config.csv);
  const MemSnapshot before = timeline.sample("before");
  const Faults f0 = read_faults();

  const uint64_t samples_per_phase = 20;
  const uint64_t every = config.objects / samples_per_phase ? config.objects / samples_per_phase : 1;
  uint64_t bytes = 0;
  double start = now_secs();
  for (uint64_t i = 0; i < config.objects; ++i) {
    sizes[i] = block_size(config, i);
    blocks[i] = checked_malloc(sizes[i]);
    memset(blocks[i], static_cast<int>(i | 1) & 0xff, sizes[i]);
    bytes += sizes[i];
    if (i % every == every - 1) timeline.sample("burst");
  }
  const double alloc_secs = now_secs() - start;
  const MemSnapshot at_peak = timeline.sample("burst");
  const Faults f1 = read_faults();

  start = now_secs();
  uint64_t kept = 0, freed = 0;
  for (uint64_t i = 0; i < config.objects; ++i) {
    if (config.keep_every && i % config.keep_every == 0) {
      blocks[kept] = blocks[i];
      sizes[kept++] = sizes[i];
      continue;
    }
    auto* b = static_cast<const uint8_t*>(blocks[i]);
    if (b[0] != (static_cast<int>(i | 1) & 0xff) || b[sizes[i] - 1] != b[0]) die("block %llu corrupted", (unsigned long long)i);
    free(blocks[i]);
    ++freed;
    if (i % every == every - 1) timeline.sample("free");
  }
  const double free_secs = now_secs() - start;
  // The pointer and size arrays past the survivors are the workload's, not the allocator's.
  blocks.release_from(kept);
  sizes.release_from(kept);
  const MemSnapshot after_free = timeline.sample("free");
  const Faults f2 = read_faults();
  const uint64_t floor_kb = live_pages(&blocks[0], &sizes[0], kept) * (kPage / 1024);

  MemSnapshot at1{}, at2{};
  bool got1 = false, got2 = false;
  uint64_t idle_ops = 0;
  const double idle_start = now_secs();
  double next_tick = 0, next_sample = config.sample_ms / 1000;
  for (double t = 0; t < config.idle_secs; t = now_secs() - idle_start) {
    if (idle_one && t >= next_tick) {
      void* p = checked_malloc(config.idle_size);
      memset(p, 0x5a, config.idle_size);
      escape(p);
      free(p);
      idle_ops += 2;
      next_tick += config.tick_ms / 1000;
    }
    if (t >= next_sample) {
      const MemSnapshot m = timeline.sample("idle");
      if (!got1 && t >= 1) at1 = m, got1 = true;
      if (!got2 && t >= 2) at2 = m, got2 = true;
      next_sample += config.sample_ms / 1000;
    }
    double wake = idle_one && next_tick < next_sample ? next_tick : next_sample;
    if (wake > config.idle_secs) wake = config.idle_secs;
    double now = now_secs() - idle_start;
    if (wake > now) sleep_secs(wake - now);
  }
  const MemSnapshot after_idle = timeline.sample("idle");
  const Faults f3 = read_faults();
  // hakmem's view at the same moment, when hakmem is the allocator.
  auto stats = reinterpret_cast<int (*)(hakmem_stats_t*)>(dlsym(RTLD_DEFAULT, "hakmem_stats"));
  auto print_stats = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "hakmem_print_stats"));
  hakmem_stats_t hk{};
  const bool have_hk = stats && stats(&hk) == 0;
  if (have_hk && print_stats && config.hakmem_stats) print_stats(2);

  Result result("burst-quiet");
  result.u64("objects", config.objects).u64("kept", kept).u64("keep_every", config.keep_every);
  result.str("idle", config.idle).u64("burst_bytes", bytes).u64("floor_kb", floor_kb);
  result.f64("alloc_secs", alloc_secs).f64("free_secs", free_secs).u64("idle_ops", idle_ops);
  result.u64("burst_minflt", f1.minor - f0.minor).u64("free_minflt", f2.minor - f1.minor);
  result.u64("idle_minflt", f3.minor - f2.minor);
  result.mem("before", before).mem("at_peak", at_peak).mem("after_free", after_free);
  if (got1) result.mem("idle1s", at1);
  if (got2) result.mem("idle2s", at2);
  result.mem("after_idle", after_idle);
  // What the burst left above the start, and how far that is above the floor (0 if not).
  const uint64_t base = before.rss_minus_lazyfree_kb();
  const uint64_t left = after_idle.rss_minus_lazyfree_kb() > base ? after_idle.rss_minus_lazyfree_kb() - base : 0;
  const uint64_t left_rss = after_idle.rss_kb > before.rss_kb ? after_idle.rss_kb - before.rss_kb : 0;
  result.u64("left_rss_minus_lazyfree_kb", left).u64("left_rss_kb", left_rss);
  result.u64("over_floor_rss_minus_lazyfree_kb", left > floor_kb ? left - floor_kb : 0);
  result.u64("over_floor_rss_kb", left_rss > floor_kb ? left_rss - floor_kb : 0);
  if (have_hk) {
    result.u64("hakmem_floor_kb", hk.live_object_page_bytes / 1024).u64("hakmem_committed_kb", hk.slab_bytes_committed / 1024);
    result.u64("hakmem_lazyfree_kb", hk.slab_bytes_lazyfree / 1024).u64("hakmem_thread_cache_kb", hk.thread_cache_bytes / 1024);
    result.u64("hakmem_metadata_kb", hk.metadata_bytes / 1024);
  }
  result.emit(config.objects + freed, alloc_secs + free_secs, after_idle);
  for (uint64_t i = 0; i < kept; ++i) free(blocks[i]);
  return 0;
}
