// large-replace: a program holding a set of large buffers (tens of MiB in all) and
// replacing one at random again and again with a buffer of another size, zero-initialised
// the way C++ code does it (`new char[n]()`: the allocation, then a memset of zeros) or
// with calloc. An allocator that maps and faults every new buffer in afresh pays one page
// fault per 4 KiB; one that reuses freed memory across sizes pays only the memset.
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

struct Config {
  uint64_t buffers = 20;
  uint64_t min_size = 5 << 20;
  uint64_t max_size = 25 << 20;
  uint64_t replacements = 200;
  const char* zero = "new";
  uint64_t seed = 42;
};

enum class Zero { New, Calloc, None };

Zero parse_zero(const char* text) {
  if (strcmp(text, "new") == 0) return Zero::New;
  if (strcmp(text, "calloc") == 0) return Zero::Calloc;
  if (strcmp(text, "none") == 0) return Zero::None;
  die("--zero must be new, calloc or none, not '%s'", text);
}

// What `new char[n]()` compiles to: the allocation, then a memset the allocator cannot
// see. The escape keeps the compiler from fusing malloc+memset into calloc.
void* allocate(size_t size, Zero zero) {
  void* p;
  if (zero == Zero::Calloc) {
    p = checked_calloc(1, size);
  } else {
    p = checked_malloc(size);
    escape(p);
    if (zero == Zero::New) memset(p, 0, size);
  }
  return p;
}

// A zeroed buffer must read as zero in every page (calloc of reused memory must clear it).
void check_zero(const void* p, size_t size) {
  auto* bytes = static_cast<const volatile uint8_t*>(p);
  for (size_t off = 0; off < size; off += kPage)
    if (bytes[off] != 0) die("zeroed buffer %p of %zu bytes is not zero at offset %zu", p, size, off);
  if (bytes[size - 1] != 0) die("zeroed buffer %p of %zu bytes is not zero at its end", p, size);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_large_replace",
                  "large-replace: allocate --buffers buffers of random size in [min-size, max-size], zeroed as\n"
                  "--zero says, then --replacements times free a random one and allocate a new one of a new\n"
                  "random size. Every page of every buffer is written and checked.");
  options.add_u64("buffers", &config.buffers, "buffers alive at once");
  options.add_u64("min-size", &config.min_size, "smallest buffer in bytes");
  options.add_u64("max-size", &config.max_size, "largest buffer in bytes");
  options.add_u64("replacements", &config.replacements, "buffers freed and allocated anew");
  options.add_str("zero", &config.zero, "new (malloc then memset 0, as new char[n]()), calloc, or none");
  options.add_u64("seed", &config.seed, "random seed");
  options.parse(argc, argv);
  if (config.buffers == 0) die("need --buffers > 0");
  if (config.min_size == 0 || config.min_size > config.max_size) die("need 0 < min-size <= max-size");
  const Zero zero = parse_zero(config.zero);

  MappedArray<void*> blocks(config.buffers);
  MappedArray<uint64_t> sizes(config.buffers);
  MappedArray<uint8_t> tags(config.buffers);
  Rng rng(config.seed);
  const Faults faults_before = read_faults();
  const double start = now_secs();
  auto fresh = [&](uint64_t i, uint8_t tag) {
    sizes[i] = rng.between(config.min_size, config.max_size);
    blocks[i] = allocate(sizes[i], zero);
    if (zero != Zero::None) check_zero(blocks[i], sizes[i]);
    fill_block(blocks[i], sizes[i], tag);
    tags[i] = tag;
  };
  for (uint64_t i = 0; i < config.buffers; ++i) fresh(i, static_cast<uint8_t>(i | 1));
  const double setup_secs = now_secs() - start;
  for (uint64_t r = 0; r < config.replacements; ++r) {
    const uint64_t i = rng.below(config.buffers);
    if (!check_block(blocks[i], sizes[i], tags[i])) die("buffer %p was corrupted", blocks[i]);
    free(blocks[i]);
    fresh(i, static_cast<uint8_t>((config.buffers + r) | 1));
  }
  const double secs = now_secs() - start;
  const Faults faults_after = read_faults();
  const MemSnapshot end = read_mem();
  for (uint64_t i = 0; i < config.buffers; ++i) free(blocks[i]);

  Result result("large-replace");
  result.u64("buffers", config.buffers).u64("min_size", config.min_size).u64("max_size", config.max_size);
  result.u64("replacements", config.replacements).str("zero", config.zero).u64("seed", config.seed);
  result.f64("setup_secs", setup_secs).f64("replace_secs", secs - setup_secs);
  result.u64("run_minflt", faults_after.minor - faults_before.minor);
  result.emit(config.buffers + 2 * config.replacements, secs, end);
  return 0;
}
