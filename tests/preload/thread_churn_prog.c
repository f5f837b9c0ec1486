/* Threads started and joined over and over, each callocs one object and
 * frees one another thread allocated: under LD_PRELOAD every free() glibc
 * makes of a joined thread's TLS is hakmem's, and glibc makes it while it
 * holds the lock of its thread-stack cache, which pthread_create takes.
 * LEAN once started its decommit thread from such a free() and hung.
 * Prints "ok" and exits 0 when every round is done. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic(void*) shared;

static void* worker(void* arg) {
  (void)arg;
  void* mine = calloc(1, 128);
  if (!mine) abort();
  free(atomic_exchange(&shared, mine));
  return NULL;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 200;
  for (int r = 0; r < rounds; ++r) {
    pthread_t t[10];
    for (int i = 0; i < 10; ++i)
      if (pthread_create(&t[i], NULL, worker, NULL)) return 2;
    for (int i = 0; i < 10; ++i) pthread_join(t[i], NULL);
  }
  free(atomic_exchange(&shared, NULL));
  puts("ok");
  return 0;
}
