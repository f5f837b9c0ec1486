// The platform layer: the only code that calls the OS (mmap, madvise, the
// clock, /proc, futex, pthread). Everything above includes this umbrella
// header or one of its parts:
//   memory.h     reserve, commit, release_lazily, release_now, unreserve
//   proc.h       /proc and cgroup readers, secure execution
//   clock.h      monotonic clock, random bits
//   thread.h     futex, helper thread, thread-exit key, fork handlers, yield
//   spin_lock.h  the allocator's lock (yields through thread.h)
//   log.h        the one message sink: warn, fatal
#pragma once
#include "core/platform/clock.h"
#include "core/platform/log.h"
#include "core/platform/memory.h"
#include "core/platform/proc.h"
#include "core/platform/spin_lock.h"
#include "core/platform/thread.h"
