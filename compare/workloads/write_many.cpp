// write-many: each thread allocates an object, writes it, writes it again many times and
// frees it, over and over. Nothing is shared, so the threads should run as if alone; an
// allocator that hands two threads objects in one cache line makes their writes fight
// over that line (false sharing), and one that places a thread's object far from the
// thread's hot lines pays in cache misses.
#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t threads = 1;
  uint64_t iterations = 200000;
  uint64_t size = 32;
  uint64_t writes = 500;
};

struct Run {
  Config config;
  std::atomic<uint64_t> ready{0};
};

void worker(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  const Config& config = run.config;
  run.ready.fetch_add(1, std::memory_order_acq_rel);
  while (run.ready.load(std::memory_order_acquire) < config.threads) {
  }
  for (uint64_t it = 0; it < config.iterations; ++it) {
    auto* p = static_cast<volatile uint8_t*>(checked_malloc(config.size));
    const auto tag = static_cast<uint8_t>(it + static_cast<uint64_t>(index));
    for (uint64_t b = 0; b < config.size; ++b) p[b] = tag;
    for (uint64_t w = 0; w < config.writes; ++w) p[w % config.size] = static_cast<uint8_t>(p[w % config.size] + 1);
    // writes/size full passes add that many to every byte, the rest one more to a prefix.
    const uint64_t passes = config.writes / config.size, rest = config.writes % config.size;
    if (p[0] != static_cast<uint8_t>(tag + passes + (rest > 0)) || p[config.size - 1] != static_cast<uint8_t>(tag + passes + (config.size - 1 < rest)))
      die("object %p was corrupted", const_cast<uint8_t*>(p));
    free(const_cast<uint8_t*>(p));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_write_many",
                  "write-many: --threads threads each --iterations times malloc an object of --size bytes,\n"
                  "write all of it, write one byte --writes times (cycling through it), check it and free it.");
  options.add_u64("threads", &config.threads, "threads (at most 64)");
  options.add_u64("iterations", &config.iterations, "objects per thread");
  options.add_u64("size", &config.size, "object size in bytes");
  options.add_u64("writes", &config.writes, "byte writes to each object after the first fill");
  options.parse(argc, argv);
  if (config.threads == 0 || config.threads > 64) die("need 1 <= threads <= 64");
  if (config.size == 0) die("need size > 0");

  MappedArray<Run> run(1);
  run[0].config = config;
  const double start = now_secs();
  run_threads(static_cast<int>(config.threads), worker, &run[0]);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();

  Result result("write-many");
  result.u64("threads", config.threads).u64("iterations", config.iterations).u64("size", config.size);
  result.u64("writes", config.writes);
  result.emit(2 * config.threads * config.iterations, secs, end);
  return 0;
}
