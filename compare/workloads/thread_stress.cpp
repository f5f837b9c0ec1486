// thread-stress: rounds of many short-lived threads sharing a transfer array, the kind of
// test allocator projects run to stress themselves. Each round starts --threads threads;
// each does --scale x 1000 operations on a private array of live objects: allocate (sizes
// mostly small, one in 100 medium, one in 10,000 large), free a random one, or swap one
// with a random slot of the shared transfer array, so objects move between threads and
// outlive the thread (and the round) that allocated them. At its end a thread frees what
// it still holds; the transfer array is carried from round to round.
#include "common.h"
#include "object.h"

namespace {

using namespace cmp;

constexpr uint64_t kMaxThreads = 256;

struct Config {
  uint64_t threads = 8;
  uint64_t rounds = 20;
  uint64_t scale = 25;
  uint64_t transfer = 1000;
  uint64_t seed = 42;
};

struct Run {
  Config config;
  std::atomic<void*>* transfer;
  void** locals;  // threads x live-per-thread, reused every round
  uint64_t live_per_thread;
  uint64_t round;
};

size_t pick_size(Rng& rng) {
  const uint64_t r = rng.below(10000);
  if (r == 0) return rng.between(64 << 10, 1 << 20);  // large
  if (r < 100) return rng.between(1 << 10, 32 << 10);  // medium
  return rng.between(kMinObject, 256);
}

void worker(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  const Config& config = run.config;
  Rng rng(config.seed ^ (run.round * kMaxThreads + static_cast<uint64_t>(index) + 1) * 0x9e3779b97f4a7c15ull);
  void** live = run.locals + static_cast<uint64_t>(index) * run.live_per_thread;
  uint64_t count = 0;
  const uint64_t ops = config.scale * 1000;
  for (uint64_t op = 0; op < ops; ++op) {
    const uint64_t r = rng.below(100);
    if (r < 50 || count == 0) {
      void* p = object_new(pick_size(rng));
      if (count < run.live_per_thread) {
        live[count++] = p;
      } else {
        void*& victim = live[rng.below(count)];
        object_delete(victim);
        victim = p;
      }
    } else if (r < 90) {
      const uint64_t i = rng.below(count);
      object_delete(live[i]);
      live[i] = live[--count];
    } else {
      void*& mine = live[rng.below(count)];
      void* theirs = run.transfer[rng.below(config.transfer)].exchange(mine, std::memory_order_acq_rel);
      if (theirs) {
        mine = theirs;
      } else {
        mine = live[--count];
      }
    }
  }
  for (uint64_t i = 0; i < count; ++i) object_delete(live[i]);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_thread_stress",
                  "thread-stress: --rounds rounds, each starting --threads threads that do --scale x 1000\n"
                  "operations: allocate an object (16-256 B; 1 in 100 1-32 KiB; 1 in 10,000 64 KiB-1 MiB), free\n"
                  "a random live one, or swap one with a random slot of a --transfer-slot array shared by all\n"
                  "threads and rounds. A thread frees what it holds when it ends.");
  options.add_u64("threads", &config.threads, "threads per round (at most 256)");
  options.add_u64("rounds", &config.rounds, "rounds");
  options.add_u64("scale", &config.scale, "thousands of operations per thread and round");
  options.add_u64("transfer", &config.transfer, "slots of the shared transfer array");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.threads == 0 || config.threads > kMaxThreads) die("need 1 <= threads <= 256");
  if (config.scale == 0 || config.transfer == 0) die("need scale > 0 and transfer > 0");

  MappedArray<std::atomic<void*>> transfer(config.transfer);
  const uint64_t live_per_thread = config.scale * 100;
  MappedArray<void*> locals(config.threads * live_per_thread);
  MappedArray<Run> run(1);
  run[0].config = config;
  run[0].transfer = &transfer[0];
  run[0].locals = &locals[0];
  run[0].live_per_thread = live_per_thread;
  const double start = now_secs();
  for (uint64_t r = 0; r < config.rounds; ++r) {
    run[0].round = r;
    run_threads(static_cast<int>(config.threads), worker, &run[0]);
  }
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();
  for (uint64_t i = 0; i < config.transfer; ++i)
    if (void* p = transfer[i].load()) object_delete(p);

  Result result("thread-stress");
  result.u64("threads", config.threads).u64("rounds", config.rounds).u64("scale", config.scale);
  result.u64("transfer", config.transfer).u64("seed", config.seed);
  result.emit(config.threads * config.rounds * config.scale * 1000, secs, end);
  return 0;
}
