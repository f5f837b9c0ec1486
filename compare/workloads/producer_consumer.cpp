// producer-consumer: one thread allocates and writes blocks, a second thread checks and
// frees them; the blocks travel through a bounded single-producer single-consumer queue.
// Every free is a cross-thread free.
#include "common.h"

namespace {

using namespace cmp;

using Queue = SpscRing<1024>;

struct Config {
  uint64_t items = 4000000;
  uint64_t min_size = 16;
  uint64_t max_size = 1024;
  uint64_t seed = 42;
};

struct Run {
  Config config;
  Queue queue;
};

// Both sides draw the same sizes from the same seed; the queue keeps the order, so the
// consumer knows the size and tag of every block without a header in the block.
void produce(Run& run) {
  Rng rng(run.config.seed);
  for (uint64_t i = 0; i < run.config.items; ++i) {
    const uint64_t size = rng.between(run.config.min_size, run.config.max_size);
    void* block = checked_malloc(size);
    fill_block(block, size, static_cast<uint8_t>(i | 1));
    for (Backoff backoff; !run.queue.push(block);) backoff.wait();
  }
}

void consume(Run& run) {
  Rng rng(run.config.seed);
  for (uint64_t i = 0; i < run.config.items; ++i) {
    const uint64_t size = rng.between(run.config.min_size, run.config.max_size);
    void* block;
    for (Backoff backoff; !run.queue.pop(&block);) backoff.wait();
    if (!check_block(block, size, static_cast<uint8_t>(i | 1))) die("block %p was corrupted", block);
    free(block);
  }
}

void thread_main(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  if (index == 0)
    produce(run);
  else
    consume(run);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_producer_consumer",
                  "producer-consumer: thread 1 mallocs --items blocks of random size in [min-size, max-size] and\n"
                  "writes them; thread 2 takes them from a 1024-entry queue, checks and frees them.");
  options.add_u64("items", &config.items, "blocks passed from producer to consumer");
  options.add_u64("min-size", &config.min_size, "smallest block in bytes");
  options.add_u64("max-size", &config.max_size, "largest block in bytes");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.min_size == 0 || config.min_size > config.max_size) die("need 0 < min-size <= max-size");

  MappedArray<Run> run(1);
  run[0].config = config;
  const double start = now_secs();
  run_threads(2, thread_main, &run[0]);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();

  Result result("producer-consumer");
  result.u64("items", config.items).u64("seed", config.seed);
  result.emit(2 * config.items, secs, end);
  return 0;
}
