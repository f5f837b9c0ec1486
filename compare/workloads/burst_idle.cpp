// burst-idle: allocate a large burst of small objects, free them (all, or all but every
// N-th), then stay lightly active for an idle period. Reports RSS and RSS - LazyFree
// before the burst, at its peak, right after the frees and after the idle period: the
// numbers that show whether an allocator gives memory back to a service that went quiet.
#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t burst_mb = 128;
  uint64_t min_size = 16;
  uint64_t max_size = 512;
  uint64_t keep_every = 0;
  double idle_secs = 3;
  uint64_t idle_ops = 4;
  double tick_ms = 10;
  uint64_t seed = 42;
};

// Allocates blocks until their sizes add up to the burst; returns the block count.
uint64_t allocate_burst(const Config& config, Rng& rng, MappedArray<void*>& blocks) {
  const uint64_t target = config.burst_mb << 20;
  uint64_t count = 0;
  for (uint64_t total = 0; total < target; ++count) {
    const uint64_t size = rng.between(config.min_size, config.max_size);
    blocks[count] = checked_malloc(size);
    fill_block(blocks[count], size, static_cast<uint8_t>(count | 1));
    total += size;
  }
  return count;
}

// Moves the surviving pointers to the front of the array and gives the pages of the
// rest back to the kernel: the workload's own bookkeeping (4 MiB of pointers for a
// 128 MiB burst) must not count against the allocator in the after-free and after-idle
// figures. Returns the number of survivors.
uint64_t compact_survivors(MappedArray<void*>& blocks, uint64_t count) {
  uint64_t kept = 0;
  for (uint64_t i = 0; i < count; ++i)
    if (blocks[i]) blocks[kept++] = blocks[i];
  blocks.release_from(kept);
  return kept;
}

// Frees every block except every keep_every-th one; returns the number freed.
uint64_t free_burst(const Config& config, MappedArray<void*>& blocks, uint64_t count) {
  uint64_t freed = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (config.keep_every && i % config.keep_every == 0) continue;
    free(blocks[i]);
    blocks[i] = nullptr;
    ++freed;
  }
  return freed;
}

// A quiet service: every tick a few small blocks are allocated, written and freed.
uint64_t idle(const Config& config, Rng& rng) {
  constexpr uint64_t kMaxIdleOps = 64;
  void* live[kMaxIdleOps];
  const uint64_t per_tick = config.idle_ops < kMaxIdleOps ? config.idle_ops : kMaxIdleOps;
  uint64_t ops = 0;
  for (const double start = now_secs(); now_secs() - start < config.idle_secs;) {
    for (uint64_t i = 0; i < per_tick; ++i) {
      const uint64_t size = rng.between(config.min_size, config.max_size);
      live[i] = checked_malloc(size);
      fill_block(live[i], size, 0x5a);
    }
    for (uint64_t i = 0; i < per_tick; ++i) free(live[i]);
    ops += 2 * per_tick;
    sleep_secs(config.tick_ms / 1000.0);
  }
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_burst_idle",
                  "burst-idle: allocate --burst-mb MiB of blocks sized [min-size, max-size], free them (keeping\n"
                  "every --keep-every-th alive when > 0), then idle for --idle-secs doing --idle-ops small\n"
                  "malloc/free every --tick-ms. Reports <phase>_rss_kb and <phase>_rss_minus_lazyfree_kb for\n"
                  "the phases before, at_peak, after_free and after_idle.");
  options.add_u64("burst-mb", &config.burst_mb, "MiB requested in the burst");
  options.add_u64("min-size", &config.min_size, "smallest block in bytes");
  options.add_u64("max-size", &config.max_size, "largest block in bytes");
  options.add_u64("keep-every", &config.keep_every, "keep every N-th block alive (0: free all)");
  options.add_f64("idle-secs", &config.idle_secs, "idle period in seconds");
  options.add_u64("idle-ops", &config.idle_ops, "malloc/free pairs per tick while idle (at most 64)");
  options.add_f64("tick-ms", &config.tick_ms, "milliseconds between idle ticks");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.min_size == 0 || config.min_size > config.max_size) die("need 0 < min-size <= max-size");

  Rng rng(config.seed);
  MappedArray<void*> blocks((config.burst_mb << 20) / config.min_size + 1);
  const MemSnapshot before = read_mem();
  const Faults faults_before = read_faults();

  double start = now_secs();
  const uint64_t count = allocate_burst(config, rng, blocks);
  const double alloc_secs = now_secs() - start;
  const MemSnapshot at_peak = read_mem();

  start = now_secs();
  const uint64_t freed = free_burst(config, blocks, count);
  const double free_secs = now_secs() - start;
  const uint64_t kept = compact_survivors(blocks, count);
  const MemSnapshot after_free = read_mem();
  const Faults faults_burst = read_faults();

  const uint64_t idle_ops = idle(config, rng);
  const MemSnapshot after_idle = read_mem();
  const Faults faults_idle = read_faults();

  Result result("burst-idle");
  result.u64("objects", count).u64("kept", kept).u64("keep_every", config.keep_every).u64("seed", config.seed);
  result.f64("alloc_secs", alloc_secs).f64("free_secs", free_secs).f64("idle_secs", config.idle_secs);
  result.u64("idle_ops", idle_ops);
  result.u64("burst_minflt", faults_burst.minor - faults_before.minor);
  result.u64("idle_minflt", faults_idle.minor - faults_burst.minor);
  result.mem("before", before).mem("at_peak", at_peak).mem("after_free", after_free).mem("after_idle", after_idle);
  // What the burst left behind after the idle period (0 if below the start).
  auto growth = [](uint64_t now, uint64_t then) { return now > then ? now - then : 0; };
  result.u64("idle_growth_rss_kb", growth(after_idle.rss_kb, before.rss_kb));
  result.u64("idle_growth_rss_minus_lazyfree_kb",
             growth(after_idle.rss_kb - after_idle.lazyfree_kb, before.rss_kb - before.lazyfree_kb));
  result.emit(count + freed, alloc_secs + free_secs, after_idle);
  free_burst(Config{.keep_every = 0}, blocks, kept);
  return 0;
}
