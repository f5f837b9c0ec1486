// The background thread (HAKMEM_DECOMMIT_THREAD, on by default in LEAN): a
// process that goes idle never calls the allocator, so nothing else would
// release its idle memory. Started by the first malloc slow path
// (decommit/run.h says why never from free), it sleeps on a futex while
// nothing is pending, else until the next deadline, runs the sweep like any
// slow path, and moves the threads' tick epoch while the process is active
// (decommit/tick_epoch.h). It blocks every signal (the program's signals
// must reach the program's threads) and is named "hakmem-decommit".
#include "core/platform/clock.h"
#include "core/platform/thread.h"
#include "decommit/deadline.h"
#include "decommit/run.h"
#include "decommit/tick_epoch.h"

namespace hakmem::decommit {

namespace {
void* background_main(void*) {
  os::name_this_thread("hakmem-decommit");
  for (;;) {
    uint32_t seq = g_background_seq.load(std::memory_order_acquire);
    const uint64_t now = os::now_ms();
    // The threads' ticks (decommit/tick_epoch.h), then the releases due.
    const uint64_t tick_at = tick_epoch_advance(now);
    uint64_t deadline = g_next_deadline.load(std::memory_order_relaxed);
    if (deadline != UINT64_MAX) deadline = run_due_at(deadline);
    if (deadline <= now) {
      // Another thread's run under way (a tick's, a slow path's, the
      // budget's) leaves the deadline as it was: without a pause this loop
      // would spin on its CPU until that run ends, taking it from the
      // program's threads (seen as a third of all instructions in
      // multi-thread-4). That run notes the next deadline when it ends.
      if (!run(now, false)) os::futex_wait(&g_background_seq, seq, 1);
      continue;
    }
    const uint64_t wake = deadline < tick_at ? deadline : tick_at;
    // Nothing pending and no ticks to ask for: sleep until woken.
    os::futex_wait(&g_background_seq, seq, wake == UINT64_MAX ? 0 : wake - now);
  }
  return nullptr;
}
}  // namespace

void start_background_thread() {
  BackgroundState expected = BackgroundState::NotStarted;
  if (!g_background_state.compare_exchange_strong(expected, BackgroundState::Running)) return;
  if (!os::start_detached_thread(background_main, 64)) {
    g_background_state.store(BackgroundState::Failed);
    tick_epoch_mode(false);  // the program's frees count down to their ticks
  }
}

}  // namespace hakmem::decommit
