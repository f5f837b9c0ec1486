// multi-thread: N threads each allocate a batch of blocks, then free the batch in random
// order; --cross-pct percent of the frees are handed to the next thread, which frees them.
// Every thread does the same work whatever N is, so on a machine with fewer cores than
// threads the throughput shows how the allocator copes with oversubscription.
// A full mailbox makes the sender wait (draining its own meanwhile), so the share is exact.
#include <sched.h>

#include "common.h"

namespace {

using namespace cmp;

using Mailbox = SpscRing<4096>;
constexpr uint64_t kMaxBatch = 4096;

struct Config {
  uint64_t threads = 1;
  uint64_t mallocs_per_thread = 4000000;
  uint64_t batch = 256;
  uint64_t cross_pct = 25;
  uint64_t min_size = 16;
  uint64_t max_size = 1024;
  uint64_t seed = 42;
};

struct Worker {
  Mailbox inbox;
  uint64_t crossed = 0;
  uint64_t cross_waits = 0;
};

struct Run {
  Config config;
  Worker* workers;
  std::atomic<uint64_t> ready{0};
  std::atomic<uint64_t> finished{0};
};

void drain(Mailbox& inbox) {
  void* p;
  while (inbox.pop(&p)) free(p);
}

void wait_for(const std::atomic<uint64_t>& counter, uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) sched_yield();
}

class BatchLoop {
 public:
  BatchLoop(Run& run, int index)
      : config_(run.config),
        rng_(config_.seed + static_cast<uint64_t>(index) * 0x1000193),
        self_(run.workers[index]),
        next_(run.workers[(static_cast<uint64_t>(index) + 1) % config_.threads]) {}

  void round(uint8_t tag) {
    for (uint64_t i = 0; i < config_.batch; ++i) {
      sizes_[i] = rng_.between(config_.min_size, config_.max_size);
      blocks_[i] = checked_malloc(sizes_[i]);
      fill_block(blocks_[i], sizes_[i], tag);
    }
    for (uint64_t i = 0; i < config_.batch; ++i) {
      swap_with_later(i);
      if (!check_block(blocks_[i], sizes_[i], tag)) die("block %p was corrupted", blocks_[i]);
      release(blocks_[i]);
    }
    drain(self_.inbox);
  }

 private:
  const Config& config_;
  Rng rng_;
  Worker& self_;
  Worker& next_;
  void* blocks_[kMaxBatch];
  uint64_t sizes_[kMaxBatch];

  void swap_with_later(uint64_t i) {
    const uint64_t j = i + rng_.below(config_.batch - i);
    void* block = blocks_[i];
    blocks_[i] = blocks_[j];
    blocks_[j] = block;
    const uint64_t size = sizes_[i];
    sizes_[i] = sizes_[j];
    sizes_[j] = size;
  }

  void release(void* block) {
    const bool cross = config_.threads > 1 && rng_.below(100) < config_.cross_pct;
    if (!cross) {
      free(block);
    } else {
      hand_over(block);
    }
  }

  // Waits while the next thread's mailbox is full, draining our own meanwhile so that a
  // ring of waiting threads always makes progress.
  void hand_over(void* block) {
    while (!next_.inbox.push(block)) {
      ++self_.cross_waits;
      drain(self_.inbox);
      sched_yield();
    }
    ++self_.crossed;
  }
};

void worker_main(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  const uint64_t rounds = run.config.mallocs_per_thread / run.config.batch;
  BatchLoop loop(run, index);
  run.ready.fetch_add(1, std::memory_order_acq_rel);
  wait_for(run.ready, run.config.threads);
  for (uint64_t r = 0; r < rounds; ++r) loop.round(static_cast<uint8_t>(r | 1));
  run.finished.fetch_add(1, std::memory_order_acq_rel);
  while (run.finished.load(std::memory_order_acquire) < run.config.threads) {
    drain(run.workers[index].inbox);
    sched_yield();
  }
  drain(run.workers[index].inbox);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_multi_thread",
                  "multi-thread: --threads threads each run rounds of: malloc --batch blocks of random size in\n"
                  "[min-size, max-size], write them, free them in random order; with more than one thread\n"
                  "--cross-pct percent of the frees are handed to the next thread, which frees them.");
  options.add_u64("threads", &config.threads, "threads");
  options.add_u64("mallocs-per-thread", &config.mallocs_per_thread, "mallocs per thread (rounded down to whole batches)");
  options.add_u64("batch", &config.batch, "blocks per round (at most 4096)");
  options.add_u64("cross-pct", &config.cross_pct, "percent of frees that cross threads");
  options.add_u64("min-size", &config.min_size, "smallest block in bytes");
  options.add_u64("max-size", &config.max_size, "largest block in bytes");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.threads < 1 || config.batch < 1 || config.batch > kMaxBatch) die("need threads >= 1 and 1 <= batch <= 4096");
  if (config.min_size == 0 || config.min_size > config.max_size) die("need 0 < min-size <= max-size");

  MappedArray<Worker> workers(config.threads);
  Run run{config, &workers[0]};
  const double start = now_secs();
  run_threads(static_cast<int>(config.threads), worker_main, &run);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();

  uint64_t crossed = 0, waits = 0;
  for (uint64_t i = 0; i < config.threads; ++i) {
    crossed += workers[i].crossed;
    waits += workers[i].cross_waits;
  }
  const uint64_t mallocs = config.mallocs_per_thread / config.batch * config.batch * config.threads;
  Result result("multi-thread");
  result.u64("threads", config.threads).u64("batch", config.batch).u64("cross_pct", config.cross_pct);
  result.u64("seed", config.seed).u64("crossed", crossed).u64("cross_waits", waits);
  result.emit(2 * mallocs, secs, end);
  return 0;
}
