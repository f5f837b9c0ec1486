// Threads as the allocator needs them: a detached helper thread, a futex to
// sleep and wake it, the thread-exit key, fork handlers, and yielding the CPU
// while spinning. None of these allocates from hakmem before it is ready.
#pragma once
#include <atomic>
#include <cstdint>

namespace hakmem::os {

// Sleeps while *word == expected, for at most timeout_ms (0: no limit).
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ms);
// Wakes one thread sleeping on word.
void futex_wake_one(std::atomic<uint32_t>* word);

// Starts fn on a detached thread with a small stack and every signal
// blocked (it must never take a signal meant for the program); false on
// failure.
bool start_detached_thread(void* (*fn)(void*), unsigned stack_kib);
// Names the calling thread (at most 15 characters; shown by top -H, ps -L).
void name_this_thread(const char* name);

// The key whose destructor runs at each thread's exit with the value the
// thread set (thread_exit_key_set).
void thread_exit_key_create(void (*destructor)(void*));
void thread_exit_key_set(void* value);

// pthread_atfork.
void at_fork(void (*prepare)(), void (*parent)(), void (*child)());

// A spinning waiter's pause, and giving the CPU to another thread.
[[gnu::always_inline]] inline void cpu_relax() { __builtin_ia32_pause(); }
void yield_cpu();

}  // namespace hakmem::os
