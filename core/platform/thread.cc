#include "core/platform/thread.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/platform/errno_guard.h"

namespace hakmem::os {

namespace {
pthread_key_t g_exit_key;
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ms) {
  ErrnoGuard g;
  timespec ts{static_cast<time_t>(timeout_ms / 1000), static_cast<long>((timeout_ms % 1000) * 1000000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout_ms ? &ts : nullptr,
          nullptr, 0);
}

void futex_wake_one(std::atomic<uint32_t>* word) {
  ErrnoGuard g;
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool start_detached_thread(void* (*fn)(void*), unsigned stack_kib) {
  ErrnoGuard g;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, size_t{stack_kib} * 1024);
  // A new thread inherits the creator's mask: block everything around the
  // create, then restore the creator's.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  bool ok = pthread_create(&t, &attr, fn, nullptr) == 0;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  return ok;
}

void name_this_thread(const char* name) {
  ErrnoGuard g;
  prctl(PR_SET_NAME, name, 0, 0, 0);
}

void thread_exit_key_create(void (*destructor)(void*)) { pthread_key_create(&g_exit_key, destructor); }

void thread_exit_key_set(void* value) {
  ErrnoGuard g;
  pthread_setspecific(g_exit_key, value);
}

void at_fork(void (*prepare)(), void (*parent)(), void (*child)()) { pthread_atfork(prepare, parent, child); }

void yield_cpu() { sched_yield(); }

}  // namespace hakmem::os
