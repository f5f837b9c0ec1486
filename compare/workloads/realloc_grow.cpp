// realloc-grow: a buffer grown with realloc a quarter at a time, the way a growing array,
// string or byte buffer of a C program or an interpreter grows, every page written after
// each step; between steps another large block is allocated, so the buffer cannot simply
// extend into free address space behind it. Then everything is freed and it starts again.
// An allocator can copy (malloc, memcpy, free), move the pages with mremap, or grow in
// place; the new part costs a page fault per 4 KiB unless freed memory is reused.
#include <cstdlib>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t start = 1 << 20;
  uint64_t max = 96 << 20;
  uint64_t side = 4 << 20;
  uint64_t rounds = 20;
};

constexpr size_t kMaxSteps = 256;

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_realloc_grow",
                  "realloc-grow: --rounds times, grow a buffer from --start to --max bytes with realloc, a\n"
                  "quarter at a time, writing every page after each step, with a --side-byte block allocated\n"
                  "(and written) between steps; then free everything.");
  options.add_u64("start", &config.start, "first size of the buffer in bytes");
  options.add_u64("max", &config.max, "size the buffer grows to in bytes");
  options.add_u64("side", &config.side, "bytes of the block allocated between steps (0: none)");
  options.add_u64("rounds", &config.rounds, "times the buffer is grown and everything freed");
  options.parse(argc, argv);
  if (config.start < 4 || config.start > config.max) die("need 4 <= start <= max");

  MappedArray<void*> side(kMaxSteps);
  Result result("realloc-grow");
  const Faults faults_before = read_faults();
  const double start = now_secs();
  uint64_t ops = 0, steps = 0;
  for (uint64_t round = 0; round < config.rounds; ++round) {
    size_t size = config.start;
    auto* buffer = static_cast<uint8_t*>(checked_malloc(size));
    fill_block(buffer, size, static_cast<uint8_t>(round | 1));
    size_t sides = 0;
    while (size < config.max && sides < kMaxSteps) {
      const size_t grown = size + size / 4 < config.max ? size + size / 4 : config.max;
      auto* moved = static_cast<uint8_t*>(realloc(buffer, grown));
      if (!moved) die("realloc of %zu bytes to %zu failed", size, grown);
      if (!check_block(moved, size, static_cast<uint8_t>(round | 1)))
        die("realloc of %zu bytes to %zu lost the contents", size, grown);
      buffer = moved;
      size = grown;
      fill_block(buffer, size, static_cast<uint8_t>(round | 1));
      ++ops;
      if (config.side) {
        side[sides] = checked_malloc(config.side);
        fill_block(side[sides], config.side, 1);
        ++sides;
        ++ops;
      }
    }
    steps += sides;
    free(buffer);
    for (size_t i = 0; i < sides; ++i) free(side[i]);
    ops += 2 + sides;
  }
  const double secs = now_secs() - start;
  const Faults faults_after = read_faults();
  const MemSnapshot end = read_mem();
  result.u64("start", config.start).u64("max", config.max).u64("side", config.side).u64("rounds", config.rounds);
  result.u64("run_minflt", faults_after.minor - faults_before.minor);
  result.emit(ops, secs, end);
  return 0;
}
