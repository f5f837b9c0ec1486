// xthread-stress: a few long-lived threads, each with its own slots of random-size
// objects; every operation frees or allocates in a random slot, or passes the slot's
// object to the next thread, which keeps it in one of its own slots until it is freed
// there. Objects live for random times and most of those that cross are freed by a
// thread that did not allocate them, while it is allocating itself.
#include <sched.h>

#include "common.h"
#include "object.h"

namespace {

using namespace cmp;

using Mailbox = SpscRing<1024>;

struct Config {
  uint64_t threads = 2;
  uint64_t rounds = 200;
  uint64_t ops_per_round = 20000;
  uint64_t slots = 1000;
  uint64_t min_size = 16;
  uint64_t max_size = 2048;
  uint64_t pass_pct = 10;
  uint64_t seed = 42;
};

struct Worker {
  Mailbox inbox;
  void** slots;
};

struct Run {
  Config config;
  Worker* workers;
  std::atomic<uint64_t> finished{0};
};

// A received object takes a random slot; the object it displaces is freed.
void receive(Worker& self, Rng& rng, const Config& config) {
  void* p;
  while (self.inbox.pop(&p)) {
    void*& slot = self.slots[rng.below(config.slots)];
    if (slot) object_delete(slot);
    slot = p;
  }
}

void worker_main(int index, void* arg) {
  auto& run = *static_cast<Run*>(arg);
  const Config& config = run.config;
  Worker& self = run.workers[index];
  Worker& next = run.workers[(static_cast<uint64_t>(index) + 1) % config.threads];
  Rng rng(config.seed + static_cast<uint64_t>(index) * 0x1000193);
  for (uint64_t r = 0; r < config.rounds; ++r) {
    for (uint64_t op = 0; op < config.ops_per_round; ++op) {
      void*& slot = self.slots[rng.below(config.slots)];
      if (!slot) {
        slot = object_new(rng.between(config.min_size, config.max_size));
      } else if (config.threads > 1 && rng.below(100) < config.pass_pct) {
        while (!next.inbox.push(slot)) {
          receive(self, rng, config);
          sched_yield();
        }
        slot = nullptr;
      } else {
        object_delete(slot);
        slot = nullptr;
      }
    }
    receive(self, rng, config);
  }
  run.finished.fetch_add(1, std::memory_order_acq_rel);
  while (run.finished.load(std::memory_order_acquire) < config.threads) {
    receive(self, rng, config);
    sched_yield();
  }
  receive(self, rng, config);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_xthread_stress",
                  "xthread-stress: --threads threads, each --rounds rounds of --ops-per-round operations on its\n"
                  "--slots slots: an empty slot gets a new object of random size; a full one is freed, or\n"
                  "(--pass-pct percent) passed to the next thread, which puts it in a random slot of its own.");
  options.add_u64("threads", &config.threads, "threads (at most 64)");
  options.add_u64("rounds", &config.rounds, "rounds per thread (a round ends by taking in passed objects)");
  options.add_u64("ops-per-round", &config.ops_per_round, "operations per round");
  options.add_u64("slots", &config.slots, "slots per thread");
  options.add_u64("min-size", &config.min_size, "smallest object in bytes (at least 16)");
  options.add_u64("max-size", &config.max_size, "largest object in bytes");
  options.add_u64("pass-pct", &config.pass_pct, "percent of the frees that pass the object to the next thread instead");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.threads == 0 || config.threads > 64) die("need 1 <= threads <= 64");
  if (config.min_size < kMinObject || config.min_size > config.max_size) die("need 16 <= min-size <= max-size");
  if (config.slots == 0) die("need slots > 0");

  MappedArray<Worker> workers(config.threads);
  MappedArray<void*> slots(config.threads * config.slots);
  for (uint64_t t = 0; t < config.threads; ++t) workers[t].slots = &slots[t * config.slots];
  MappedArray<Run> run(1);
  run[0].config = config;
  run[0].workers = &workers[0];
  const double start = now_secs();
  run_threads(static_cast<int>(config.threads), worker_main, &run[0]);
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();
  for (uint64_t i = 0; i < config.threads * config.slots; ++i)
    if (slots[i]) object_delete(slots[i]);

  Result result("xthread-stress");
  result.u64("threads", config.threads).u64("rounds", config.rounds).u64("ops_per_round", config.ops_per_round);
  result.u64("slots", config.slots).u64("min_size", config.min_size).u64("max_size", config.max_size);
  result.u64("pass_pct", config.pass_pct).u64("seed", config.seed);
  result.emit(config.threads * config.rounds * config.ops_per_round, secs, end);
  return 0;
}
