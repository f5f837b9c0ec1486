// The thread heaps' storage: static TLS and the list of every heap.
#include "core/small/thread_heap.h"

namespace hakmem {

ThreadHeap g_empty_heap;
__thread ThreadHeap* tl_heap __attribute__((tls_model("initial-exec"))) = &g_empty_heap;
__thread ThreadCache tl_cache __attribute__((tls_model("initial-exec")));
__thread bool tl_heap_locked __attribute__((tls_model("initial-exec")));
SpinLock g_heap_lock;
ThreadHeap* g_all_heaps;
ThreadHeap* g_free_heaps;

}  // namespace hakmem
