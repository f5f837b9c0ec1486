// simple-loop: one thread, fixed small sizes, few blocks alive — the shape of glibc's own
// malloc micro-benchmark: for each size and each number of live blocks, many times
// allocate that many blocks and free them in the order they were allocated. The blocks
// are not written beyond one byte: what this measures is the allocator's fast path.
#include <cstdio>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

constexpr size_t kMaxList = 16;
constexpr uint64_t kMaxLive = 4096;

struct Config {
  const char* sizes = "16,32,64,128,256,512,1024";
  const char* live = "1,25,100,400";
  uint64_t ops_per_case = 2000000;
};

// "16,32,1K" -> values; exits on a bad list.
size_t parse_list(const char* text, const char* what, uint64_t* out) {
  size_t n = 0;
  char item[32];
  for (const char* p = text; *p;) {
    const char* comma = strchr(p, ',');
    const size_t len = comma ? static_cast<size_t>(comma - p) : strlen(p);
    if (len == 0 || len >= sizeof item || n == kMaxList) die("bad --%s list '%s'", what, text);
    memcpy(item, p, len);
    item[len] = '\0';
    if (!parse_u64(item, &out[n]) || out[n] == 0) die("bad --%s value '%s'", what, item);
    ++n;
    p = comma ? comma + 1 : p + len;
  }
  if (n == 0) die("empty --%s list", what);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  Options options("cmp_simple_loop",
                  "simple-loop: for each size in --sizes and each count in --live, repeat: malloc count blocks\n"
                  "of that size (one byte written), free them in allocation order; --ops-per-case mallocs+frees\n"
                  "per (size, count) pair.");
  options.add_str("sizes", &config.sizes, "block sizes (bytes, K/M suffixes)");
  options.add_str("live", &config.live, "blocks alive at once (at most 4096)");
  options.add_u64("ops-per-case", &config.ops_per_case, "mallocs plus frees per (size, live) pair");
  options.parse(argc, argv);
  uint64_t sizes[kMaxList], lives[kMaxList];
  const size_t nsizes = parse_list(config.sizes, "sizes", sizes);
  const size_t nlives = parse_list(config.live, "live", lives);
  for (size_t l = 0; l < nlives; ++l)
    if (lives[l] > kMaxLive) die("--live %llu is above 4096", static_cast<unsigned long long>(lives[l]));

  MappedArray<void*> blocks(kMaxLive);
  Result result("simple-loop");
  result.str("sizes", config.sizes).str("live", config.live).u64("ops_per_case", config.ops_per_case);
  uint64_t ops = 0;
  double secs = 0;
  for (size_t s = 0; s < nsizes; ++s) {
    for (size_t l = 0; l < nlives; ++l) {
      const uint64_t live = lives[l];
      const uint64_t iterations = config.ops_per_case / (2 * live) + 1;
      const double start = now_secs();
      for (uint64_t it = 0; it < iterations; ++it) {
        for (uint64_t i = 0; i < live; ++i) {
          blocks[i] = checked_malloc(sizes[s]);
          *static_cast<volatile uint8_t*>(blocks[i]) = static_cast<uint8_t>(i);
        }
        for (uint64_t i = 0; i < live; ++i) free(blocks[i]);
      }
      const double case_secs = now_secs() - start;
      char key[64];
      snprintf(key, sizeof key, "ops_per_sec_%lluBx%llu", static_cast<unsigned long long>(sizes[s]),
               static_cast<unsigned long long>(live));
      result.f64(key, static_cast<double>(2 * iterations * live) / case_secs);
      ops += 2 * iterations * live;
      secs += case_secs;
    }
  }
  const MemSnapshot end = read_mem();
  result.emit(ops, secs, end);
  return 0;
}
