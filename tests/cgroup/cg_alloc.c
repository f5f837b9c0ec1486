/* cg_alloc: allocate and free memory in two size classes, one after the other.
 *
 *   cg_alloc SIZE1 MIB1 SIZE2 MIB2 [PAUSE_MS [KEEP_EVERY]]
 *
 * KEEP_EVERY=K keeps every K-th object of phase 1 alive until exit, so the
 * allocator's SuperSlabs are never wholly empty and cannot simply be unmapped:
 * the freed memory stays mapped and must be released with madvise (or, after
 * MADV_FREE, reclaimed by the kernel under cgroup pressure).
 *
 * Phase 1 allocates MIB1 MiB of SIZE1-byte objects, writes every object,
 * checks them and frees them all; then it sleeps PAUSE_MS (an idle program
 * that makes no allocator calls); phase 2 does the same with SIZE2-byte
 * objects. Run under LD_PRELOAD=libhakmem.so inside a memory cgroup whose
 * limit is below MIB1 + MIB2: it survives only if the memory freed in phase 1
 * is returned to (or reclaimable by) the kernel.
 * Exit 0 on success, 1 on a content mismatch or allocation failure.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long rss_kib(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int phase(int idx, size_t obj, size_t mib, size_t keep_every) {
  size_t n = (mib << 20) / obj;
  /* The pointer table is mmapped so that it does not go through malloc. */
  unsigned char** v = mmap(NULL, n * sizeof *v, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (v == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (size_t i = 0; i < n; ++i) {
    v[i] = malloc(obj);
    if (!v[i]) {
      fprintf(stderr, "cg_alloc: phase %d: malloc(%zu) #%zu failed\n", idx, obj, i);
      return 1;
    }
    memset(v[i], (int)(i * 131 + idx) & 0xff, obj);
  }
  long peak = rss_kib();
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char e = (unsigned char)((i * 131 + idx) & 0xff);
    if (v[i][0] != e || v[i][obj - 1] != e || v[i][obj / 2] != e) {
      fprintf(stderr, "cg_alloc: phase %d: object %zu at %p corrupted\n", idx, i, (void*)v[i]);
      return 1;
    }
    if (keep_every && i % keep_every == 0) kept++; /* stays allocated until exit */
    else free(v[i]);
  }
  munmap(v, n * sizeof *v);
  printf("cg_alloc: phase %d: %zu objects of %zu bytes (%zu MiB): rss %ld KiB at peak, %ld KiB after free (%zu kept)\n",
         idx, n, obj, mib, peak, rss_kib(), kept);
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: cg_alloc SIZE1 MIB1 SIZE2 MIB2 [PAUSE_MS [KEEP_EVERY]]\n");
    return 2;
  }
  size_t s1 = strtoul(argv[1], 0, 0), m1 = strtoul(argv[2], 0, 0);
  size_t s2 = strtoul(argv[3], 0, 0), m2 = strtoul(argv[4], 0, 0);
  long pause_ms = argc > 5 ? strtol(argv[5], 0, 0) : 0;
  size_t keep_every = argc > 6 ? strtoul(argv[6], 0, 0) : 0;
  if (!s1 || !s2) return 2;
  if (phase(1, s1, m1, keep_every)) return 1;
  if (pause_ms > 0) {
    struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  if (phase(2, s2, m2, 0)) return 1;
  printf("cg_alloc: done\n");
  return 0;
}
