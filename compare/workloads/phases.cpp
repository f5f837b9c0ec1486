// phases: alternating bursts of different size classes. Each phase allocates --phases
// count blocks of one size, then frees all but about one in --keep; the survivors live on
// until the same phase comes round in the next cycle, so every size class is left
// fragmented while the others run. Reports RSS after every phase, the final footprint
// (survivors of the last cycle still alive) and the footprint after everything is freed.
#include <cstdio>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

constexpr int kMaxKinds = 8;

struct PhaseKind {
  uint64_t size;
  uint64_t count;
};

int parse_phases(const char* list, PhaseKind* kinds) {
  int n = 0;
  for (const char* p = list; *p;) {
    char token[64];
    const size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof token || n == kMaxKinds) die("bad --phases '%s'", list);
    memcpy(token, p, len);
    token[len] = '\0';
    char* colon = strchr(token, ':');
    if (!colon) die("phase '%s' is not size:count", token);
    *colon = '\0';
    if (!parse_u64(token, &kinds[n].size) || !parse_u64(colon + 1, &kinds[n].count) || kinds[n].size == 0 ||
        kinds[n].count == 0)
      die("bad phase '%s:%s'", token, colon + 1);
    ++n;
    p += len;
    if (*p == ',') ++p;
  }
  if (n == 0) die("--phases is empty");
  return n;
}

// One kind of phase: its scratch array and the survivors of its last burst.
class PhaseRunner {
 public:
  PhaseRunner(const PhaseKind& kind, uint64_t keep, Rng& rng)
      : kind_(kind), keep_(keep), rng_(rng), blocks_(kind.count), survivors_(kind.count) {}

  // Frees the survivors of the previous cycle, then runs one burst. Returns ops done.
  uint64_t run(uint8_t tag) {
    uint64_t ops = release_survivors();
    for (uint64_t i = 0; i < kind_.count; ++i) {
      blocks_[i] = checked_malloc(kind_.size);
      fill_block(blocks_[i], kind_.size, tag);
    }
    ops += kind_.count;
    for (uint64_t i = 0; i < kind_.count; ++i) {
      if (rng_.below(keep_) == 0) {
        survivors_[survivor_count_++] = blocks_[i];
      } else {
        free(blocks_[i]);
        ++ops;
      }
    }
    return ops;
  }

  uint64_t release_survivors() {
    for (uint64_t i = 0; i < survivor_count_; ++i) free(survivors_[i]);
    const uint64_t freed = survivor_count_;
    survivor_count_ = 0;
    return freed;
  }

 private:
  PhaseKind kind_;
  uint64_t keep_;
  Rng& rng_;
  MappedArray<void*> blocks_;
  MappedArray<void*> survivors_;
  uint64_t survivor_count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const char* phase_list = "32:200000,2048:20000,65536:600";
  uint64_t cycles = 3, keep = 16, seed = 42;
  Options options("cmp_phases",
                  "phases: for --cycles cycles run every phase of --phases (size:count,...): malloc count\n"
                  "blocks of size (every page written), free all but about 1 in --keep, which survive until\n"
                  "the same phase of the next cycle. Reports phase<N>_rss_kb / phase<N>_rss_minus_lazyfree_kb\n"
                  "after every phase, then after_free_all_* once every block is freed.");
  options.add_str("phases", &phase_list, "phases as size:count,... (K/M suffixes)");
  options.add_u64("cycles", &cycles, "how many times the phase list runs");
  options.add_u64("keep", &keep, "about one block in N of each phase survives");
  options.add_u64("seed", &seed, "random seed");
  options.parse(argc, argv);
  if (keep < 1 || cycles < 1) die("--keep and --cycles must be >= 1");

  PhaseKind kinds[kMaxKinds];
  const int kind_count = parse_phases(phase_list, kinds);
  Rng rng(seed);
  alignas(PhaseRunner) unsigned char storage[kMaxKinds][sizeof(PhaseRunner)];
  PhaseRunner* runners[kMaxKinds];
  for (int k = 0; k < kind_count; ++k) runners[k] = new (storage[k]) PhaseRunner(kinds[k], keep, rng);

  Result result("phases");
  result.u64("cycles", cycles).u64("kinds", static_cast<uint64_t>(kind_count)).u64("keep", keep).u64("seed", seed);
  uint64_t ops = 0;
  double secs = 0;
  int phase = 0;
  for (uint64_t c = 0; c < cycles; ++c) {
    for (int k = 0; k < kind_count; ++k) {
      const double start = now_secs();
      ops += runners[k]->run(static_cast<uint8_t>(++phase | 1));
      const double phase_secs = now_secs() - start;
      secs += phase_secs;
      char prefix[32];
      snprintf(prefix, sizeof prefix, "phase%d_secs", phase);
      result.f64(prefix, phase_secs);
      snprintf(prefix, sizeof prefix, "phase%d", phase);
      result.mem(prefix, read_mem());
    }
  }
  const MemSnapshot end = read_mem();
  for (int k = 0; k < kind_count; ++k) runners[k]->release_survivors();  // not timed
  result.mem("after_free_all", read_mem());
  result.emit(ops, secs, end);
  for (int k = 0; k < kind_count; ++k) runners[k]->~PhaseRunner();
  return 0;
}
