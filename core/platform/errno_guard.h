// Saves errno on entry and restores it on exit. Every platform call that
// can touch errno holds one, so the allocator never changes the program's
// errno on a path that succeeds (glibc's malloc does not either).
#pragma once
#include <errno.h>

namespace hakmem::os {

class ErrnoGuard {
 public:
  ErrnoGuard() : saved_(errno) {}
  ~ErrnoGuard() { errno = saved_; }
  ErrnoGuard(const ErrnoGuard&) = delete;
  ErrnoGuard& operator=(const ErrnoGuard&) = delete;

 private:
  int saved_;
};

}  // namespace hakmem::os
