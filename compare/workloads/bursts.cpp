// bursts: threads that each, again and again, allocate a burst of objects of random sizes
// and then free the whole burst. Between bursts a thread holds nothing, so what an
// allocator keeps resident here (peak RSS) is its caches, its size-class rounding and the
// slabs the threads' bursts left partly used; the speed is the mallocs and frees.
#include "common.h"
#include "object.h"

namespace {

using namespace cmp;

constexpr uint64_t kMaxBurst = 1 << 20;

struct Config {
  uint64_t threads = 2;
  uint64_t bursts = 400;
  uint64_t max_burst = 5000;
  uint64_t min_size = 16;
  uint64_t max_size = 4096;
  uint64_t seed = 42;
};

struct Run {
  Config config;
  void** blocks;  // threads x max_burst
  std::atomic<uint64_t> ops{0};
};

void worker(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  const Config& config = run.config;
  Rng rng(config.seed + static_cast<uint64_t>(index) * 0x1000193);
  void** burst = run.blocks + static_cast<uint64_t>(index) * config.max_burst;
  for (uint64_t b = 0; b < config.bursts; ++b) {
    const uint64_t n = rng.between(1, config.max_burst);
    for (uint64_t i = 0; i < n; ++i) burst[i] = object_new(rng.between(config.min_size, config.max_size));
    for (uint64_t i = 0; i < n; ++i) {  // in random order
      const uint64_t j = i + rng.below(n - i);
      void* p = burst[j];
      burst[j] = burst[i];
      object_delete(p);
    }
    run.ops.fetch_add(2 * n, std::memory_order_relaxed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_bursts",
                  "bursts: --threads threads each --bursts times malloc a burst of 1..--max-burst objects of random\n"
                  "size in [min-size, max-size] (every page written), then free the burst in random order.");
  options.add_u64("threads", &config.threads, "threads (at most 64)");
  options.add_u64("bursts", &config.bursts, "bursts per thread");
  options.add_u64("max-burst", &config.max_burst, "most objects in one burst (the count is uniform in 1..max)");
  options.add_u64("min-size", &config.min_size, "smallest object in bytes (at least 16)");
  options.add_u64("max-size", &config.max_size, "largest object in bytes");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.threads == 0 || config.threads > 64) die("need 1 <= threads <= 64");
  if (config.max_burst == 0 || config.max_burst > kMaxBurst) die("need 1 <= max-burst <= 1M");
  if (config.min_size < kMinObject || config.min_size > config.max_size) die("need 16 <= min-size <= max-size");

  MappedArray<void*> blocks(config.threads * config.max_burst);
  MappedArray<Run> run(1);
  run[0].config = config;
  run[0].blocks = &blocks[0];
  const double start = now_secs();
  run_threads(static_cast<int>(config.threads), worker, &run[0]);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();

  const uint64_t ops = run[0].ops.load();
  Result result("bursts");
  result.u64("threads", config.threads).u64("bursts", config.bursts).u64("max_burst", config.max_burst);
  result.u64("min_size", config.min_size).u64("max_size", config.max_size).u64("seed", config.seed);
  result.emit(ops, secs, end);
  return 0;
}
