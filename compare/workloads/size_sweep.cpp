// size-sweep: for each size, a fixed-size loop that frees the oldest of --live blocks and
// allocates a new one (every page written), for --secs-per-size seconds. Reports
// ops_per_sec_<size> (malloc and free each count as one op) and faults_per_op_<size>.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common.h"

namespace {

using namespace cmp;

constexpr int kMaxSizes = 32;
constexpr uint64_t kMaxLive = 1024;

struct SizeResult {
  uint64_t ops;
  double secs;
  uint64_t minflt;
};

int parse_sizes(const char* list, uint64_t* sizes) {
  char token[32];
  int count = 0;
  for (const char* p = list; *p;) {
    const size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof token || count == kMaxSizes) die("bad --sizes '%s'", list);
    memcpy(token, p, len);
    token[len] = '\0';
    if (!parse_u64(token, &sizes[count]) || sizes[count] == 0) die("bad size '%s' in --sizes", token);
    ++count;
    p += len;
    if (*p == ',') ++p;
  }
  if (count == 0) die("--sizes is empty");
  return count;
}

void size_label(uint64_t size, char* out, size_t cap) {
  if (size % (1u << 20) == 0)
    snprintf(out, cap, "%lluM", static_cast<unsigned long long>(size >> 20));
  else if (size % 1024 == 0)
    snprintf(out, cap, "%lluK", static_cast<unsigned long long>(size >> 10));
  else
    snprintf(out, cap, "%llu", static_cast<unsigned long long>(size));
}

SizeResult sweep_one(uint64_t size, uint64_t live, double budget) {
  void* ring[kMaxLive];
  for (uint64_t i = 0; i < live; ++i) {
    ring[i] = checked_malloc(size);
    fill_block(ring[i], size, 1);
  }
  // Large blocks may cost milliseconds each: look at the clock after every one of them.
  const uint64_t per_check = size >= 4096 ? 1 : 256;
  const Faults before = read_faults();
  const double start = now_secs();
  uint64_t pairs = 0;
  double elapsed = 0;
  while (elapsed < budget) {
    for (uint64_t i = 0; i < per_check; ++i, ++pairs) {
      void*& slot = ring[pairs % live];
      free(slot);
      slot = checked_malloc(size);
      fill_block(slot, size, static_cast<uint8_t>(pairs | 1));
      escape(slot);
    }
    elapsed = now_secs() - start;
  }
  const Faults after = read_faults();
  for (uint64_t i = 0; i < live; ++i) free(ring[i]);
  return SizeResult{2 * pairs, elapsed, after.minor - before.minor};
}

}  // namespace

int main(int argc, char** argv) {
  const char* size_list = "16,64,256,1K,4K,16K,64K,256K,1M,4M";
  uint64_t live = 16;
  double secs_per_size = 0.5;
  Options options("cmp_size_sweep",
                  "size-sweep: for every size in --sizes, keep --live blocks of that size and for\n"
                  "--secs-per-size seconds free the oldest and malloc a new one (every page written).\n"
                  "Reports ops_per_sec_<size>, faults_per_op_<size> and their geometric mean.");
  options.add_str("sizes", &size_list, "comma-separated sizes (K/M suffixes)");
  options.add_u64("live", &live, "blocks alive per size (at most 1024)");
  options.add_f64("secs-per-size", &secs_per_size, "seconds per size");
  options.parse(argc, argv);
  if (live < 1 || live > kMaxLive) die("--live must be in 1..1024");

  uint64_t sizes[kMaxSizes];
  const int count = parse_sizes(size_list, sizes);
  SizeResult results[kMaxSizes];
  uint64_t total_ops = 0;
  double total_secs = 0, log_sum = 0;
  for (int i = 0; i < count; ++i) {
    results[i] = sweep_one(sizes[i], live, secs_per_size);
    total_ops += results[i].ops;
    total_secs += results[i].secs;
    log_sum += std::log(static_cast<double>(results[i].ops) / results[i].secs);
  }
  const MemSnapshot end = read_mem();

  Result result("size-sweep");
  result.u64("live", live).u64("sizes", static_cast<uint64_t>(count));
  for (int i = 0; i < count; ++i) {
    char label[32], key[64];
    size_label(sizes[i], label, sizeof label);
    snprintf(key, sizeof key, "ops_per_sec_%s", label);
    result.f64(key, static_cast<double>(results[i].ops) / results[i].secs);
    snprintf(key, sizeof key, "faults_per_op_%s", label);
    result.f64(key, static_cast<double>(results[i].minflt) / static_cast<double>(results[i].ops));
  }
  result.f64("geomean_ops_per_sec", std::exp(log_sum / count));
  result.emit(total_ops, total_secs, end);
  return 0;
}
