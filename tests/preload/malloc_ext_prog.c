/* Run with LD_PRELOAD=libhakmem.so (NOT linked with hakmem): glibc's malloc
 * extensions called by their own names must reach hakmem and report its
 * figures, not glibc's arena (which holds nothing when hakmem is preloaded).
 * hakmem_stats is looked up with dlsym to compare against. Exit 0 when all
 * checks pass; prints what failed otherwise. malloc_stats goes to stderr for
 * the script to check. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <hakmem.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...)                         \
  do {                                           \
    if (!(cond)) {                               \
      fprintf(stdout, "FAIL %s: ", #cond);       \
      fprintf(stdout, __VA_ARGS__);              \
      fputc('\n', stdout);                       \
      failures++;                                \
    }                                            \
  } while (0)

static const char* object_of(const char* symbol) {
  void* p = dlsym(RTLD_DEFAULT, symbol);
  Dl_info info;
  if (!p || !dladdr(p, &info) || !info.dli_fname) return "(not found)";
  return info.dli_fname;
}

int main(void) {
  const char* names[] = {"malloc_trim", "mallinfo2", "mallinfo", "malloc_stats", "malloc_info", "mallopt"};
  for (size_t i = 0; i < sizeof names / sizeof *names; ++i)
    CHECK(strstr(object_of(names[i]), "libhakmem") != NULL, "%s resolves to %s", names[i], object_of(names[i]));
  int (*stats)(hakmem_stats_t*) = (int (*)(hakmem_stats_t*))dlsym(RTLD_DEFAULT, "hakmem_stats");
  if (!stats) {
    puts("FAIL: hakmem_stats not found: libhakmem.so is not preloaded");
    return 1;
  }

  enum { kSmall = 4000 };
  static void* small[kSmall];
  for (int i = 0; i < kSmall; ++i) memset(small[i] = malloc(1000), 1, 1000);
  /* volatile: the compiler may drop a malloc/free pair whose block is unused */
  void* volatile large[2] = {malloc(1 << 20), malloc(3 << 20)};
  memset(large[0], 2, 1 << 20);
  memset(large[1], 3, 3 << 20);
  struct mallinfo2 m = mallinfo2();
  hakmem_stats_t s;
  stats(&s);
  CHECK(m.uordblks == s.live_small_bytes, "uordblks %zu, hakmem live_small_bytes %zu", m.uordblks, s.live_small_bytes);
  CHECK(m.uordblks >= (size_t)kSmall * 1000, "uordblks %zu", m.uordblks);
  CHECK(m.hblkhd == s.live_large_bytes, "hblkhd %zu, hakmem live_large_bytes %zu", m.hblkhd, s.live_large_bytes);
  CHECK(m.hblks >= 2, "hblks %zu", m.hblks);
  CHECK(m.arena == s.slab_bytes_committed, "arena %zu, hakmem slab_bytes_committed %zu", m.arena, s.slab_bytes_committed);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  /* deprecated, still called by programs */
  struct mallinfo mi = mallinfo();
#pragma GCC diagnostic pop
  CHECK((size_t)mi.uordblks == m.uordblks && (size_t)mi.hblkhd == m.hblkhd, "mallinfo %d/%d vs mallinfo2 %zu/%zu",
        mi.uordblks, mi.hblkhd, m.uordblks, m.hblkhd);

  char* xml = NULL;
  size_t xml_len = 0;
  FILE* f = open_memstream(&xml, &xml_len);
  CHECK(malloc_info(0, f) == 0, "malloc_info(0) failed");
  fclose(f);
  char want[128];
  snprintf(want, sizeof want, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>", m.hblks, m.hblkhd);
  CHECK(strncmp(xml, "<malloc version=\"1\">", 20) == 0, "malloc_info starts with %.40s", xml);
  CHECK(strstr(xml, want) != NULL, "malloc_info lacks %s:\n%s", want, xml);
  free(xml);
  f = fopen("/dev/null", "w");
  errno = 0;
  CHECK(malloc_info(1, f) == -1 && errno == EINVAL, "malloc_info(1) must fail with EINVAL");
  fclose(f);

  /* glibc returns 1 for a parameter it does not know; hakmem returns 0. */
  CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt(M_ARENA_MAX, 2)");
  CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1, "mallopt(M_TRIM_THRESHOLD)");
  CHECK(mallopt(12345, 1) == 0, "mallopt of an unknown parameter returned 1 (glibc's answer)");

  malloc_stats();

  for (int i = 0; i < kSmall; ++i) free(small[i]);
  free(large[0]);
  free(large[1]);
  /* The freed 1 and 3 MiB mappings are cached in both modes: trim gives them back. */
  CHECK(malloc_trim(0) == 1, "malloc_trim after freeing returned 0");
  int last = 1;
  for (int i = 0; i < 5 && last; ++i) last = malloc_trim(0);
  CHECK(last == 0, "malloc_trim reports a release on every call");
  CHECK(mallinfo2().keepcost == 0, "keepcost %zu after trim", mallinfo2().keepcost);
  if (failures) return 1;
  puts("ok");
  return 0;
}
