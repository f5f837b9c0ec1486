// Lock order, outermost first:
//   g_init_lock                      core/init.cc
//   g_heap_lock, every heap's lock, every pool's lock   small_fork_* (core/small/fork.cc)
//   the large allocator's lock       large::fork_* (core/large/large.cc)
// An owner or a sweep holding a heap lock takes a pool lock; none takes
// g_heap_lock; the large lock is taken with no other held. The arena's and
// registry's locks are taken under a pool lock only, so holding every pool
// lock already keeps them free.
#include "core/fork.h"

#include "core/large/large.h"
#include "core/platform/spin_lock.h"
#include "core/platform/thread.h"
#include "core/small/slow_paths.h"
#include "decommit/run.h"

namespace hakmem {

SpinLock g_init_lock;

namespace {
void fork_prepare() {
  g_init_lock.lock();
  small_fork_prepare();
  large::fork_prepare();
}
void fork_parent() {
  large::fork_parent();
  small_fork_parent();
  g_init_lock.unlock();
}
void fork_child() {
  large::fork_child();
  small_fork_child();
  g_init_lock.unlock();
  // With every lock released: the child's own decommit thread, if the
  // parent had one (decommit/run.h: why not on the child's first call).
  decommit::start_background_thread_if_wanted();
}
}  // namespace

void register_fork_handlers() { os::at_fork(fork_prepare, fork_parent, fork_child); }

}  // namespace hakmem
