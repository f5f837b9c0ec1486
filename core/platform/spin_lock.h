// A small spin lock for the allocator's slow paths. It never allocates and
// can be taken in pthread_atfork handlers. Waiters yield after a short spin.
#pragma once
#include <atomic>

#include "core/platform/thread.h"

namespace hakmem {

class SpinLock {
 public:
  void lock() {
    for (int spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins > 64) os::yield_cpu();
        else os::cpu_relax();
      }
    }
  }
  // For a sweep that must never wait for a heap's owner.
  bool try_lock() { return !flag_.load(std::memory_order_relaxed) && !flag_.exchange(true, std::memory_order_acquire); }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

class LockGuard {
 public:
  explicit LockGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~LockGuard() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace hakmem
