#include "core/platform/clock.h"

#include <sys/random.h>
#include <time.h>

#include "core/platform/errno_guard.h"

namespace hakmem::os {

uint64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t now_ms_coarse() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t random_u64() {
  ErrnoGuard g;
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v)) return v;
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = (static_cast<uint64_t>(ts.tv_sec) << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^ __builtin_ia32_rdtsc();
  x ^= reinterpret_cast<uintptr_t>(&v);  // the stack's place, randomised by ASLR
  x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

}  // namespace hakmem::os
