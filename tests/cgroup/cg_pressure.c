/* cg_pressure: issue 11's pattern 2, a second phase that needs the memory the
 * first phase freed.
 *
 *   cg_pressure [PHASE1_MIB [KEEP_EVERY]]      (defaults 36 and 64)
 *
 * Phase 1 allocates PHASE1_MIB MiB of blocks of 16 + (37 * i mod 1009) bytes,
 * each written with memset, and frees all but every KEEP_EVERY-th. Phase 2
 * allocates as many blocks of (2048 + 13 * i mod 2048) / 4 bytes (512..1023)
 * and keeps them all. The program never holds more than phase 2 plus the
 * survivors (about 54 MiB with the defaults), so in a 64 MiB memory cgroup it
 * survives only if the allocator reuses or releases phase 1's free pages
 * before it commits new ones (glibc does). The same formulas as
 * compare/workloads/pressure.cpp.
 *
 * Prints "cg_pressure: done ..." with the live bytes and the peak RSS
 * (VmHWM) and exits 0; exits 1 on a failed malloc or corrupted contents.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t phase1_size(size_t i) { return 16 + (37 * i) % 1009; }
static size_t phase2_size(size_t i) { return (2048 + (13 * i) % 2048) / 4; }
static unsigned char tag(size_t i, int phase) { return (unsigned char)((i * 131 + phase) | 1); }

static int intact(const unsigned char* p, size_t n, unsigned char t) { return p[0] == t && p[n / 2] == t && p[n - 1] == t; }

/* VmHWM in KiB, read with plain syscalls (fopen would call the allocator). */
static long vm_hwm_kib(void) {
  static char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = 0;
  const char* at = strstr(buf, "VmHWM:");
  return at ? strtol(at + 6, NULL, 10) : -1;
}

/* Pointer tables in their own mappings, so they are not the allocator's. */
static unsigned char** table(size_t n) {
  void* p = mmap(NULL, n * sizeof(unsigned char*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("cg_pressure: mmap");
    exit(1);
  }
  return p;
}

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], 0, 0) : 36;
  size_t keep_every = argc > 2 ? strtoul(argv[2], 0, 0) : 64;
  if (mib == 0) {
    fprintf(stderr, "usage: cg_pressure [PHASE1_MIB [KEEP_EVERY]]\n");
    return 2;
  }
  size_t n = 0;
  for (size_t total = 0; total < (mib << 20); ++n) total += phase1_size(n);
  unsigned char** first = table(n);
  unsigned char** second = table(n);
  size_t live = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t size = phase1_size(i);
    if (!(first[i] = malloc(size))) {
      fprintf(stderr, "cg_pressure: phase 1: malloc(%zu) #%zu failed\n", size, i);
      return 1;
    }
    memset(first[i], tag(i, 1), size);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!intact(first[i], phase1_size(i), tag(i, 1))) {
      fprintf(stderr, "cg_pressure: phase 1 block %zu corrupted\n", i);
      return 1;
    }
    if (keep_every && i % keep_every == 0) {
      live += phase1_size(i);
      continue;
    }
    free(first[i]);
    first[i] = NULL;
  }
  printf("cg_pressure: phase 1: %zu blocks, %zu bytes kept\n", n, live);
  fflush(stdout);
  for (size_t i = 0; i < n; ++i) {
    size_t size = phase2_size(i);
    if (!(second[i] = malloc(size))) {
      fprintf(stderr, "cg_pressure: phase 2: malloc(%zu) #%zu failed\n", size, i);
      return 1;
    }
    memset(second[i], tag(i, 2), size);
    live += size;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!intact(second[i], phase2_size(i), tag(i, 2)) || (first[i] && !intact(first[i], phase1_size(i), tag(i, 1)))) {
      fprintf(stderr, "cg_pressure: block %zu corrupted\n", i);
      return 1;
    }
  }
  printf("cg_pressure: done: %zu KiB live, peak RSS %ld KiB\n", live >> 10, vm_hwm_kib());
  fflush(stdout);
  for (size_t i = 0; i < n; ++i) free(second[i]), free(first[i]);
  return 0;
}
