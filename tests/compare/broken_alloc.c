/* Deliberately broken "allocators" for the runner's test; one per compile definition:
 *   BROKEN_ABORT       the library's constructor calls abort(): every run dies with SIGABRT
 *   BROKEN_NULL        malloc always returns NULL: the workloads exit with status 3
 *   BROKEN_NO_MALLOC   loads fine but defines no malloc: the runner must notice that the
 *                      preload is not the allocator that ran and report FAILED */
#include <stddef.h>
#include <stdlib.h>

#if defined(BROKEN_ABORT)
__attribute__((constructor)) static void die_on_load(void) { abort(); }
#elif defined(BROKEN_NULL)
void* malloc(size_t size) {
  (void)size;
  return NULL;
}
#elif defined(BROKEN_NO_MALLOC)
int cmp_test_broken_marker(void) { return 42; }
#else
#error "define BROKEN_ABORT, BROKEN_NULL or BROKEN_NO_MALLOC"
#endif
