/* Deliberately broken "allocators" for the runner's test; one per compile definition:
 *   BROKEN_ABORT       the library's constructor calls abort(): every run dies with SIGABRT
 *   BROKEN_NULL        malloc always returns NULL, and so does calloc called by the program
 *                      (libc's own callocs, e.g. for a new thread's TLS, get memory from
 *                      glibc, so a workload sees the failure rather than pthread_create):
 *                      the workloads exit with status 3
 *   BROKEN_NO_MALLOC   loads fine but defines no malloc: the runner must notice that the
 *                      preload is not the allocator that ran and report FAILED */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(BROKEN_ABORT)
__attribute__((constructor)) static void die_on_load(void) { abort(); }
#elif defined(BROKEN_NULL)
void* malloc(size_t size) {
  (void)size;
  return NULL;
}
void* __libc_calloc(size_t count, size_t size);
void* calloc(size_t count, size_t size) {
  Dl_info info;
  if (dladdr(__builtin_return_address(0), &info) && info.dli_fname &&
      (strstr(info.dli_fname, "libc.so") || strstr(info.dli_fname, "ld-linux")))
    return __libc_calloc(count, size);
  return NULL;
}
#elif defined(BROKEN_NO_MALLOC)
int cmp_test_broken_marker(void) { return 42; }
#else
#error "define BROKEN_ABORT, BROKEN_NULL or BROKEN_NO_MALLOC"
#endif
