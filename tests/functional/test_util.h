// Helpers shared by the functional tests.
#pragma once
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hktest {

// Deterministic byte for object `id` at offset `i`: catches overlap and
// stale/cross-object data, not just "some byte was written".
inline unsigned char pattern_byte(uint64_t id, size_t i) {
  uint64_t x = id * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<unsigned char>(x | 1);  // never 0, so calloc checks are meaningful
}

inline void fill(void* p, size_t n, uint64_t id) {
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = pattern_byte(id, i);
}

// Returns the first mismatching offset, or SIZE_MAX when the block is intact.
inline size_t check(const void* p, size_t n, uint64_t id) {
  auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != pattern_byte(id, i)) return i;
  return SIZE_MAX;
}

// Cheaper variant for big blocks: first/last 64 bytes and one byte per 256.
// for_sparse(n, f) calls f(i) for exactly those offsets, in increasing order.
template <class F>
inline bool for_sparse(size_t n, F f) {
  size_t head = n < 64 ? n : 64;
  for (size_t i = 0; i < head; ++i)
    if (!f(i)) return false;
  size_t tail = n > 64 ? n - 64 : 0;  // first offset of the last 64 bytes
  for (size_t i = 256; i < tail; i += 256)
    if (!f(i)) return false;
  for (size_t i = tail < head ? head : tail; i < n; ++i)
    if (!f(i)) return false;
  return true;
}
inline void fill_sparse(void* p, size_t n, uint64_t id) {
  auto* b = static_cast<unsigned char*>(p);
  for_sparse(n, [&](size_t i) { b[i] = pattern_byte(id, i); return true; });
}
inline size_t check_sparse(const void* p, size_t n, uint64_t id) {
  auto* b = static_cast<const unsigned char*>(p);
  size_t bad = SIZE_MAX;
  for_sparse(n, [&](size_t i) {
    if (b[i] != pattern_byte(id, i)) { bad = i; return false; }
    return true;
  });
  return bad;
}
// Check the first `len` bytes of a block that was filled with fill_sparse(p, filled, id).
inline size_t check_sparse_prefix(const void* p, size_t len, size_t filled, uint64_t id) {
  auto* b = static_cast<const unsigned char*>(p);
  size_t bad = SIZE_MAX;
  for_sparse(filled, [&](size_t i) {
    if (i >= len) return false;
    if (b[i] != pattern_byte(id, i)) { bad = i; return false; }
    return true;
  });
  return bad;
}

inline size_t first_nonzero(const void* p, size_t n) {
  auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i]) return i;
  return SIZE_MAX;
}

inline bool aligned(const void* p, size_t a) {
  return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0;
}

// Values in bytes read from /proc/self/smaps_rollup.
struct Rollup {
  size_t rss = 0, lazyfree = 0, anon_huge = 0;
  bool ok = false;
};
inline Rollup read_rollup() {
  Rollup r;
  FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (!f) return r;
  char line[256];
  bool got_rss = false, got_lf = false;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb;
    if (std::sscanf(line, "Rss: %llu kB", &kb) == 1) { r.rss = kb * 1024; got_rss = true; }
    else if (std::sscanf(line, "LazyFree: %llu kB", &kb) == 1) { r.lazyfree = kb * 1024; got_lf = true; }
    else if (std::sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) r.anon_huge = kb * 1024;
  }
  std::fclose(f);
  r.ok = got_rss && got_lf;
  return r;
}

inline const char* env_or(const char* name, const char* dflt) {
  const char* v = std::getenv(name);
  return v ? v : dflt;
}

}  // namespace hktest
