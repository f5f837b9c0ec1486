/* A program built against an installed hakmem, with CMake (find_package) or
 * with pkg-config; install_test.sh builds and runs it.
 *
 *   consumer shared PREFIX   linked with libhakmem.so: malloc itself is hakmem's
 *   consumer static PREFIX   linked with libhakmem.a: the hk_* API only, malloc is the C library's
 *
 * Checks that the hakmem it runs is the one installed under PREFIX, of the
 * version of the header it was compiled with, and that allocations show in
 * hakmem's own statistics. Exit 0 on success. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <hakmem.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what) {
  fprintf(stderr, "consumer: FAIL: %s\n", what);
  return 1;
}

static size_t live_small(void) {
  hakmem_stats_t s;
  if (hakmem_stats(&s) != 0) return (size_t)-1;
  return s.live_small_bytes;
}

/* Allocates 64 blocks of 1000 bytes with alloc; returns how much hakmem's
 * live small bytes grew. */
static size_t growth(void* (*alloc)(size_t), void (*release)(void*)) {
  void* blocks[64];
  size_t before = live_small();
  for (int i = 0; i < 64; ++i) {
    blocks[i] = alloc(1000);
    if (!blocks[i]) return 0;
    memset(blocks[i], i, 1000);
  }
  size_t after = live_small();
  for (int i = 0; i < 64; ++i) release(blocks[i]);
  return after > before ? after - before : 0;
}

int main(int argc, char** argv) {
  if (argc != 3 || (strcmp(argv[1], "shared") && strcmp(argv[1], "static")))
    return fail("usage: consumer shared|static PREFIX");
  int shared = strcmp(argv[1], "shared") == 0;
  char prefix[PATH_MAX], self[PATH_MAX], lib[PATH_MAX];
  if (!realpath(argv[2], prefix)) return fail("the prefix does not exist");
  if (!realpath("/proc/self/exe", self)) return fail("cannot read /proc/self/exe");

  /* Where hk_malloc comes from: the installed shared library, or (static)
   * this executable. */
  Dl_info info;
  if (!dladdr((void*)&hk_malloc, &info) || !info.dli_fname || !realpath(info.dli_fname, lib))
    return fail("dladdr(hk_malloc) found no object");
  if (shared && strncmp(lib, prefix, strlen(prefix)) != 0) {
    fprintf(stderr, "consumer: hk_malloc is in %s, not under %s\n", lib, prefix);
    return fail("not the installed libhakmem.so");
  }
  if (!shared && strcmp(lib, self) != 0) {
    fprintf(stderr, "consumer: hk_malloc is in %s, not in the executable %s\n", lib, self);
    return fail("the static library was not linked in");
  }

  if (hakmem_version() != HAKMEM_VERSION || strcmp(hakmem_version_string(), HAKMEM_VERSION_STRING) != 0) {
    fprintf(stderr, "consumer: library %d (%s), header %d (%s)\n", hakmem_version(), hakmem_version_string(),
            HAKMEM_VERSION, HAKMEM_VERSION_STRING);
    return fail("the library's version is not the header's");
  }

  hakmem_stats_t s;
  hakmem_stats(&s);
  const char* mode = getenv("HAKMEM_MEM_LEAN");
  int want_lean = mode && strcmp(mode, "1") == 0;
  if (s.lean != want_lean) return fail("hakmem_stats().lean does not follow HAKMEM_MEM_LEAN");

  if (growth(hk_malloc, hk_free) < 64 * 1000) return fail("hk_malloc blocks do not show in live_small_bytes");
  size_t via_malloc = growth(malloc, free);
  if (shared && via_malloc < 64 * 1000) return fail("linked with libhakmem.so, but malloc is not hakmem's");
  if (!shared && via_malloc != 0) return fail("linked with libhakmem.a, but malloc reached hakmem");

  printf("consumer %s: hakmem %s from %s, %s mode, malloc is %s\n", argv[1], hakmem_version_string(), lib,
         s.lean ? "LEAN" : "FAST",
         shared ? "hakmem's" : "the C library's");
  return 0;
}
