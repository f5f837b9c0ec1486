// Prints the options hakmem used, as seen through hakmem_stats(), on stdout.
#include <hakmem.h>

#include <cstdio>

int main() {
  void* p = hk_malloc(100);
  if (!p) return 2;
  hk_free(p);
  hakmem_stats_t s;
  if (hakmem_stats(&s) != 0) return 3;
  std::printf("lean=%d superslab_size=%zu arena_bytes=%zu\n", s.lean, s.superslab_size, s.arena_bytes);
  return 0;
}
