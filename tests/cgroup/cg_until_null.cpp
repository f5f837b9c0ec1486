// cg_until_null: allocate until the allocator says no, then free and go on.
//
//   cg_until_null MODE MIN MAX [LARGE_EVERY]
//
// MODE malloc: malloc blocks of MIN..MAX bytes (a fixed pseudo-random
// sequence), writing every page, until malloc returns NULL; checks errno is
// ENOMEM. MODE new: the same with operator new[], until it throws
// std::bad_alloc. LARGE_EVERY=K makes every K-th block 256 KiB (a large
// block). Then it checks every block's contents, frees them all, allocates
// a tenth of what it had again (the memory must be usable after a refusal)
// and exits 0. Run inside a memory cgroup with HAKMEM_MEM_LEAN_LIMIT_MB=auto:
// without the limit the kernel OOM-kills it instead.
// Exit 0 on success, 1 on a content mismatch or a failure other than the
// expected refusal, 2 on bad usage.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <new>

namespace {

size_t g_min, g_max, g_large_every;
bool g_new;

size_t size_of(size_t i) {
  if (g_large_every && i % g_large_every == g_large_every - 1) return size_t{256} << 10;
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  return g_min + static_cast<size_t>(x % (g_max - g_min + 1));
}

unsigned char fill_of(size_t i) { return static_cast<unsigned char>(i * 131 + 7); }

// One block, written in every page; nullptr when the allocator refuses.
unsigned char* take(size_t i) {
  size_t n = size_of(i);
  unsigned char* p;
  if (g_new) {
    try {
      p = new unsigned char[n];
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  } else {
    errno = 0;
    p = static_cast<unsigned char*>(malloc(n));
    if (!p) {
      if (errno != ENOMEM) {
        fprintf(stderr, "cg_until_null: malloc(%zu) returned NULL with errno %d, not ENOMEM\n", n, errno);
        exit(1);
      }
      return nullptr;
    }
  }
  for (size_t off = 0; off < n; off += 4096) p[off] = fill_of(i);
  p[n - 1] = fill_of(i);
  return p;
}

void give(unsigned char* p, size_t i) {
  size_t n = size_of(i);
  for (size_t off = 0; off < n; off += 4096)
    if (p[off] != fill_of(i)) {
      fprintf(stderr, "cg_until_null: block %zu (%zu bytes) corrupted at offset %zu\n", i, n, off);
      exit(1);
    }
  if (p[n - 1] != fill_of(i)) {
    fprintf(stderr, "cg_until_null: block %zu (%zu bytes) corrupted at its end\n", i, n);
    exit(1);
  }
  if (g_new) delete[] p;
  else free(p);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || (strcmp(argv[1], "malloc") && strcmp(argv[1], "new"))) {
    fprintf(stderr, "usage: cg_until_null malloc|new MIN MAX [LARGE_EVERY]\n");
    return 2;
  }
  g_new = strcmp(argv[1], "new") == 0;
  g_min = strtoul(argv[2], nullptr, 0);
  g_max = strtoul(argv[3], nullptr, 0);
  g_large_every = argc > 4 ? strtoul(argv[4], nullptr, 0) : 0;
  if (g_min == 0 || g_max < g_min) return 2;
  // The pointer table is mmapped: it must not take from the allocator under test.
  const size_t cap = size_t{1} << 24;
  auto** v = static_cast<unsigned char**>(mmap(nullptr, cap * sizeof(void*), PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (v == MAP_FAILED) return 1;
  size_t n = 0, bytes = 0;
  while (n < cap && (v[n] = take(n)) != nullptr) bytes += size_of(n++);
  if (n == cap) {
    fprintf(stderr, "cg_until_null: %zu blocks (%zu MiB) and no refusal\n", n, bytes >> 20);
    return 1;
  }
  printf("cg_until_null: refused after %zu blocks, %zu MiB\n", n, bytes >> 20);
  fflush(stdout);
  for (size_t i = 0; i < n; ++i) give(v[i], i);
  // Usable again after the refusal.
  size_t again = n / 10;
  for (size_t i = 0; i < again; ++i)
    if (!(v[i] = take(i))) {
      fprintf(stderr, "cg_until_null: after freeing everything, block %zu of %zu was refused\n", i, again);
      return 1;
    }
  for (size_t i = 0; i < again; ++i) give(v[i], i);
  printf("cg_until_null: done (%zu blocks again)\n", again);
  return 0;
}
