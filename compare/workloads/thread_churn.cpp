// thread-churn: short-lived threads, as a program that starts a thread per small task.
// Every round starts --threads threads; each callocs one object, swaps it into a random
// slot of a shared array and frees the object it took out, which another thread (most
// often one that has exited already) allocated. What this measures is the allocator's
// thread start and exit (heap creation, cache flush, handing over what the thread owns)
// and its free of an object whose owner is gone.
#include <pthread.h>

#include "common.h"

namespace {

using namespace cmp;

constexpr uint64_t kMaxThreads = 256;

struct Config {
  uint64_t rounds = 500;
  uint64_t threads = 10;
  uint64_t size = 128;
  uint64_t slots = 10;
  uint64_t seed = 42;
};

struct Run {
  Config config;
  std::atomic<void*>* slots;
  uint64_t round;
};

// The first word of an object is its address XOR a key: an allocator that hands out one
// block twice, or corrupts a live one, is caught when the object is freed.
constexpr uintptr_t kKey = 0x5eed0b1ec7ull;

void task(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  Rng rng(run.config.seed ^ (run.round * kMaxThreads + static_cast<uint64_t>(index)) * 0x9e3779b97f4a7c15ull);
  auto* object = static_cast<uintptr_t*>(checked_calloc(1, run.config.size));
  const auto* bytes = reinterpret_cast<const volatile uint8_t*>(object);
  if (bytes[0] != 0 || bytes[run.config.size - 1] != 0) die("calloc returned a block %p that is not zero", object);
  object[0] = reinterpret_cast<uintptr_t>(object) ^ kKey;
  void* old = run.slots[rng.below(run.config.slots)].exchange(object, std::memory_order_acq_rel);
  if (old) {
    if (*static_cast<uintptr_t*>(old) != (reinterpret_cast<uintptr_t>(old) ^ kKey)) die("object %p was corrupted", old);
    free(old);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_thread_churn",
                  "thread-churn: --rounds rounds; each starts --threads threads (and joins them); each thread\n"
                  "callocs one --size object, swaps it into a random one of --slots shared slots and frees the\n"
                  "object it took out (allocated by another thread, most often one that has exited).");
  options.add_u64("rounds", &config.rounds, "rounds of thread starts");
  options.add_u64("threads", &config.threads, "threads started per round (at most 256)");
  options.add_u64("size", &config.size, "object size in bytes (at least 8)");
  options.add_u64("slots", &config.slots, "shared slots");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.threads == 0 || config.threads > kMaxThreads) die("need 1 <= threads <= 256");
  if (config.size < sizeof(uintptr_t)) die("need size >= 8");
  if (config.slots == 0) die("need slots > 0");

  MappedArray<std::atomic<void*>> slots(config.slots);
  MappedArray<Run> run(1);
  run[0].config = config;
  run[0].slots = &slots[0];
  const double start = now_secs();
  for (uint64_t r = 0; r < config.rounds; ++r) {
    run[0].round = r;
    run_threads(static_cast<int>(config.threads), task, &run[0]);
  }
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();
  for (uint64_t i = 0; i < config.slots; ++i) free(slots[i].load());

  Result result("thread-churn");
  result.u64("rounds", config.rounds).u64("threads", config.threads).u64("size", config.size);
  result.u64("slots", config.slots).u64("seed", config.seed);
  result.f64("us_per_thread", secs * 1e6 / static_cast<double>(config.rounds * config.threads));
  result.emit(2 * config.rounds * config.threads, secs, end);
  return 0;
}
