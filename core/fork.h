// The one place that lists every lock the allocator has, in the order they
// are taken, for fork: pthread_atfork's handlers take them all, so a child
// can allocate. A new lock goes into this list (core/fork.cc), nowhere else.
#pragma once

namespace hakmem {

class SpinLock;

// The start-up lock (core/init.cc), taken first.
extern SpinLock g_init_lock;
// Registers the handlers; once, at start-up, before any other thread can
// hold a lock.
void register_fork_handlers();

}  // namespace hakmem
