// random-mixed: random sizes over a fixed working set of slots (see mixer.h), on one
// thread or on several, where about one free in `cross-one-in` crosses to the next thread.
#include <sched.h>

#include "common.h"
#include "mixer.h"

namespace {

using namespace cmp;

struct Worker {
  Mailbox inbox;
  Mixer mixer;
};

struct ParallelRun {
  uint64_t threads;
  uint64_t ops_per_thread;
  Worker* workers;
  std::atomic<uint64_t> ready{0};
  std::atomic<uint64_t> finished{0};
};

void wait_for(const std::atomic<uint64_t>& counter, uint64_t target) {
  while (counter.load(std::memory_order_acquire) < target) sched_yield();
}

void worker_main(int index, void* arg) {
  auto& run = *static_cast<ParallelRun*>(arg);
  Mixer& mixer = run.workers[index].mixer;
  run.ready.fetch_add(1, std::memory_order_acq_rel);
  wait_for(run.ready, run.threads);
  mixer.run(run.ops_per_thread);
  run.finished.fetch_add(1, std::memory_order_acq_rel);
  // Others may still hand blocks to us until they finish.
  while (run.finished.load(std::memory_order_acquire) < run.threads) {
    mixer.drain_inbox();
    sched_yield();
  }
  mixer.drain_inbox();
}

}  // namespace

int main(int argc, char** argv) {
  MixerConfig config;
  uint64_t iterations = 20000000, threads = 1, seed = 42;
  Options options("cmp_random_mixed",
                  "random-mixed: each operation picks a random slot; an occupied slot is freed, an empty one\n"
                  "gets malloc(random size in [min-size, max-size]) and every page of it is written.\n"
                  "With --threads N > 1 every thread has its own slots and 1 free in --cross-one-in is\n"
                  "handed to the next thread, which frees it.");
  options.add_u64("iterations", &iterations, "operations in total (split evenly across threads)");
  options.add_u64("slots", &config.slots, "slots per thread (working set)");
  options.add_u64("min-size", &config.min_size, "smallest block in bytes");
  options.add_u64("max-size", &config.max_size, "largest block in bytes");
  options.add_u64("threads", &threads, "threads");
  options.add_u64("cross-one-in", &config.cross_one_in, "with threads > 1: one free in N crosses threads (0: none)");
  options.add_u64("seed", &seed, "random seed");
  options.parse(argc, argv);
  if (threads < 1) die("--threads must be >= 1");
  if (threads == 1) config.cross_one_in = 0;

  MappedArray<Worker> workers(threads);
  for (uint64_t i = 0; i < threads; ++i) {
    Mailbox* outbox = config.cross_one_in ? &workers[(i + 1) % threads].inbox : nullptr;
    Mailbox* inbox = config.cross_one_in ? &workers[i].inbox : nullptr;
    workers[i].mixer.init(config, seed + i * 0x1000193, outbox, inbox);
  }
  ParallelRun run{threads, iterations / threads, &workers[0]};

  const double start = now_secs();
  if (threads == 1)
    workers[0].mixer.run(run.ops_per_thread);
  else
    run_threads(static_cast<int>(threads), worker_main, &run);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();

  uint64_t crossed = 0, waits = 0;
  for (uint64_t i = 0; i < threads; ++i) {
    crossed += workers[i].mixer.crossed();
    waits += workers[i].mixer.cross_waits();
  }
  Result result("random-mixed");
  result.u64("threads", threads).u64("slots", config.slots).u64("seed", seed);
  result.u64("crossed", crossed).u64("cross_waits", waits);
  result.emit(run.ops_per_thread * threads, secs, end);
  for (uint64_t i = 0; i < threads; ++i) workers[i].mixer.release_all();
  return 0;
}
