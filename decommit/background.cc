// The background thread (HAKMEM_DECOMMIT_THREAD, on by default in LEAN): a
// process that goes idle never calls the allocator, so nothing else would
// release its idle memory. It is started the first time something waits to
// be released (a program that never frees never gets one), sleeps on a
// futex while nothing is pending, then until the next deadline, and runs the
// sweep like any slow path. It blocks every signal (the program's signals
// must reach the program's threads) and is named "hakmem-decommit".
#include "core/platform/clock.h"
#include "core/platform/thread.h"
#include "decommit/deadline.h"
#include "decommit/run.h"

namespace hakmem::decommit {

namespace {
void* background_main(void*) {
  os::name_this_thread("hakmem-decommit");
  for (;;) {
    uint32_t seq = g_background_seq.load(std::memory_order_acquire);
    uint64_t deadline = g_next_deadline.load(std::memory_order_relaxed);
    if (deadline == UINT64_MAX) {
      os::futex_wait(&g_background_seq, seq, 0);  // nothing pending: sleep until woken
      continue;
    }
    uint64_t now = os::now_ms();
    deadline = run_due_at(deadline);
    if (now < deadline) {
      os::futex_wait(&g_background_seq, seq, deadline - now);
      continue;
    }
    // Another thread's run under way (a tick's, a slow path's, the
    // budget's) leaves the deadline as it was: without a pause this loop
    // would spin on its CPU until that run ends, taking it from the
    // program's threads (seen as a third of all instructions in
    // multi-thread-4). That run notes the next deadline when it ends.
    if (!run(now, false)) os::futex_wait(&g_background_seq, seq, 1);
  }
  return nullptr;
}
}  // namespace

void start_background_thread() {
  BackgroundState expected = BackgroundState::NotStarted;
  if (!g_background_state.compare_exchange_strong(expected, BackgroundState::Running)) return;
  if (!os::start_detached_thread(background_main, 64)) g_background_state.store(BackgroundState::Failed);
}

}  // namespace hakmem::decommit
